// Time-series charts (uPlot, loaded as a classic script before this module) from the zero-filled
// `points` of /api/admin/monitoring/timeseries. Each chart has a text summary for screen readers.
import { ApiError, api, describeError } from './api.js';
import { byId, format, h, showMessage } from './dom.js';

const HEIGHT = 200;
const AXIS = { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } };
/** Value axes wide enough for "10,000" or "0.0025". */
const VALUE_AXIS_SIZE = 64;

const total = (points, field) => points.reduce((sum, point) => sum + (point[field] ?? 0), 0);
const highest = (points, field) =>
  points.reduce(
    (max, point) => (point[field] === null || point[field] === undefined ? max : Math.max(max ?? 0, point[field])),
    null,
  );

const CHARTS = [
  {
    id: 'calls',
    title: 'Calls',
    series: [
      { label: 'Calls', stroke: '#0b57d0', value: (point) => point.calls, show: format.number },
      { label: 'Failures', stroke: '#c62828', value: (point) => point.failures, show: format.number },
    ],
    summary: (points) =>
      `${format.number(total(points, 'calls'))} calls, ${format.number(total(points, 'failures'))} failures, ` +
      `${format.number(total(points, 'selections'))} selections.`,
  },
  {
    id: 'success',
    title: 'Success rate',
    scales: { '%': { auto: false, range: [0, 100] } },
    series: [
      {
        label: 'Success rate',
        scale: '%',
        stroke: '#2e7d32',
        value: (point) => point.successRate,
        show: format.percent,
      },
    ],
    summary: (points) => {
      const calls = total(points, 'calls');
      return calls === 0
        ? 'No calls in this range.'
        : `${format.percent((total(points, 'successes') / calls) * 100)} of ${format.number(calls)} calls succeeded.`;
    },
  },
  {
    id: 'latency',
    title: 'Latency',
    series: [
      { label: 'p50', stroke: '#0b57d0', value: (point) => point.p50LatencyMs, show: format.ms },
      { label: 'p95', stroke: '#b35c00', value: (point) => point.p95LatencyMs, show: format.ms },
      { label: 'p99', stroke: '#c62828', value: (point) => point.p99LatencyMs, show: format.ms },
    ],
    summary: (points) =>
      `Highest p99: ${format.ms(highest(points, 'p99LatencyMs'))}; highest p50: ${format.ms(highest(points, 'p50LatencyMs'))}.`,
  },
  {
    id: 'usage',
    title: 'Tokens and cost',
    series: [
      { label: 'Tokens', scale: 'tokens', stroke: '#6a1b9a', value: (point) => point.totalTokens, show: format.number },
      { label: 'Cost', scale: 'cost', stroke: '#00796b', value: (point) => point.cost, show: format.money },
    ],
    axes: [{ scale: 'tokens' }, { scale: 'cost', side: 1, grid: { show: false } }],
    summary: (points) =>
      `${format.number(total(points, 'totalTokens'))} tokens, cost ${format.money(total(points, 'cost'))}.`,
  },
];

/** chart id → { definition, container, summary, plot } */
const charts = new Map();
let resizeObserver = null;

/** Builds the chart frames once; the plots are drawn when data arrives. */
export function initCharts() {
  const root = byId('charts');
  for (const definition of CHARTS) {
    const titleId = `chart-${definition.id}-title`;
    const container = h('div', { id: `chart-${definition.id}`, class: 'chart-canvas', 'aria-hidden': 'true' });
    const summary = h('p', { class: 'chart-summary', id: `chart-${definition.id}-summary` });
    root.append(
      h(
        'figure',
        { class: 'chart', 'aria-labelledby': titleId },
        h('figcaption', { id: titleId }, definition.title),
        container,
        summary,
      ),
    );
    charts.set(definition.id, { definition, container, summary, plot: null });
  }
  resizeObserver = new ResizeObserver(() => requestAnimationFrame(resizeAll));
  resizeObserver.observe(root);
}

export function resetCharts() {
  for (const chart of charts.values()) {
    chart.plot?.destroy();
    chart.plot = null;
    chart.summary.textContent = '';
  }
  showMessage('charts-message', '');
}

export async function refreshCharts({ projectId, instanceId, timeRange }) {
  let series;
  try {
    series = await api('admin/monitoring/timeseries', { query: { timeRange, projectId, instanceId } });
  } catch (error) {
    resetCharts();
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage('charts-message', unavailable ? 'No data: time series are not available.' : describeError(error));
    return;
  }
  const uPlot = globalThis.uPlot;
  if (typeof uPlot !== 'function') {
    showMessage('charts-message', 'Charts are unavailable: the chart library did not load.');
    return;
  }
  const points = Array.isArray(series.points) ? series.points : [];
  showMessage(
    'charts-message',
    points.length === 0 ? 'No data for this range.' : `One point per ${series.bucketMinutes} minutes.`,
  );
  const times = points.map((point) => point.timestamp / 1000);
  for (const chart of charts.values()) {
    const data = [times, ...chart.definition.series.map((line) => points.map((point) => line.value(point) ?? null))];
    chart.summary.textContent = chart.definition.summary(points);
    if (chart.plot) chart.plot.setData(data);
    else chart.plot = new uPlot(options(chart), data, chart.container);
  }
}

function options({ definition, container }) {
  const yAxes = definition.axes ?? [{ scale: definition.series[0].scale ?? 'y' }];
  return {
    width: Math.max(container.clientWidth, 200),
    height: HEIGHT,
    scales: { x: { time: true }, ...definition.scales },
    series: [
      {},
      ...definition.series.map((line) => ({
        label: line.label,
        scale: line.scale ?? 'y',
        stroke: line.stroke,
        width: 2,
        value: (_plot, value) => line.show(value),
      })),
    ],
    axes: [
      AXIS,
      ...yAxes.map((axis) => ({ ...AXIS, size: VALUE_AXIS_SIZE, ...axis, grid: { ...AXIS.grid, ...axis.grid } })),
    ],
  };
}

function resizeAll() {
  for (const { plot, container } of charts.values()) {
    const width = container.clientWidth;
    if (plot && width > 0 && Math.abs(plot.width - width) > 1) plot.setSize({ width, height: HEIGHT });
  }
}

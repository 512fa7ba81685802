// Time-series charts (uPlot, loaded as a classic script before this module) from the zero-filled
// `points` of /api/admin/monitoring/timeseries. Each chart has a text summary for screen readers.
import { ApiError, api, describeError } from './api.js';
import { AXIS, CHART_HEIGHT, ChartFrame, VALUE_AXIS_SIZE } from './chart-kit.js';
import { byId, format, h, showMessage } from './dom.js';

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

/** chart id → { definition, frame, summary } */
const charts = new Map();

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
    const frame = new ChartFrame(container, (width) => options(definition, width));
    charts.set(definition.id, { definition, frame, summary });
  }
}

export function resetCharts() {
  for (const chart of charts.values()) {
    chart.frame.clear();
    chart.summary.textContent = '';
  }
  showMessage('charts-message', '');
}

/** "One point per minute", "One point per 60 minutes". */
export function bucketText(bucketMinutes) {
  if (!bucketMinutes) return '';
  return bucketMinutes === 1 ? 'One point per minute.' : `One point per ${format.number(bucketMinutes)} minutes.`;
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
  const points = Array.isArray(series.points) ? series.points : [];
  showMessage('charts-message', points.length === 0 ? 'No data for this range.' : bucketText(series.bucketMinutes));
  const times = points.map((point) => point.timestamp / 1000);
  try {
    for (const chart of charts.values()) {
      const data = [times, ...chart.definition.series.map((line) => points.map((point) => line.value(point) ?? null))];
      chart.summary.textContent = chart.definition.summary(points);
      chart.frame.draw(data);
    }
  } catch (error) {
    showMessage('charts-message', describeError(error));
  }
}

/**
 * Points for a series whose values stand alone between gaps (a minute with calls among minutes
 * without): a line needs two neighbours, so without a dot such a value is not drawn at all. uPlot's
 * own rule hides the dots once they are closer than a few pixels, which blanked sparse charts as
 * soon as they were narrowed. Elsewhere its rule applies (dots while they are far enough apart).
 */
export function showPoints(plot, seriesIndex) {
  const values = plot.data[seriesIndex] ?? [];
  for (let index = 0; index < values.length; index += 1) {
    if (values[index] === null || values[index] === undefined) continue;
    const before = index === 0 ? null : values[index - 1];
    const after = index === values.length - 1 ? null : values[index + 1];
    if ((before === null || before === undefined) && (after === null || after === undefined)) return true;
  }
  return values.length > 0 && plot.bbox.width / devicePixelRatio / values.length >= 12;
}

/** uPlot options for a chart of `series` lines at `width` CSS pixels. */
export function lineChartOptions({ series, scales, axes }, width) {
  const yAxes = axes ?? [{ scale: series[0]?.scale ?? 'y' }];
  return {
    width,
    height: CHART_HEIGHT,
    scales: { x: { time: true }, ...scales },
    series: [
      {},
      ...series.map((line) => ({
        label: line.label,
        scale: line.scale ?? 'y',
        stroke: line.stroke,
        width: 2,
        points: { show: showPoints, size: 6, fill: line.stroke },
        value: (_plot, value) => line.show(value),
      })),
    ],
    axes: [
      AXIS,
      ...yAxes.map((axis) => ({ ...AXIS, size: VALUE_AXIS_SIZE, ...axis, grid: { ...AXIS.grid, ...axis.grid } })),
    ],
  };
}

function options(definition, width) {
  return lineChartOptions(definition, width);
}

// The backends of one API side by side: the traffic split between them, their success rates,
// error classes, last error and next probe (from the instance rows), and charts with one line per
// backend (GET /api/admin/monitoring/instances/series). Every figure names its window.
import { ApiError, api, describeError } from './api.js';
import { ChartFrame, PALETTE } from './chart-kit.js';
import { bucketText, lineChartOptions } from './charts.js';
import {
  byId,
  format,
  h,
  labelWindows,
  relativeTime,
  showMessage,
  stateBadge,
  timeElement,
  windowLabel,
} from './dom.js';

/** Instances in one chart at most: more lines than colours can be told apart. */
const MAX_COMPARED = PALETTE.length;

const CHARTS = [
  {
    id: 'success',
    title: 'Success rate per backend',
    scales: { '%': { auto: false, range: [0, 100] } },
    scale: '%',
    value: (point) => point.successRate,
    show: format.percent,
  },
  {
    id: 'latency',
    title: 'p95 latency per backend',
    value: (point) => point.p95LatencyMs,
    show: format.ms,
  },
  {
    id: 'calls',
    title: 'Calls per backend',
    value: (point) => point.calls,
    show: format.number,
  },
];

/** chart id → { definition, frame, caption } */
const charts = new Map();
const state = { instances: [] };
let reload = () => undefined;

export function initCompare(onChange) {
  reload = onChange;
  const root = byId('compare-charts');
  for (const definition of CHARTS) {
    const titleId = `compare-${definition.id}-title`;
    const container = h('div', { id: `compare-${definition.id}`, class: 'chart-canvas', 'aria-hidden': 'true' });
    const caption = h('span', { class: 'muted' });
    const summary = h('p', { class: 'chart-summary', id: `compare-${definition.id}-summary` });
    root.append(
      h(
        'figure',
        { class: 'chart', 'aria-labelledby': titleId },
        h('figcaption', { id: titleId }, definition.title, ' ', caption),
        container,
        summary,
      ),
    );
    let lines = [];
    const frame = new ChartFrame(container, (width) =>
      lineChartOptions(
        {
          scales: definition.scales,
          series: lines.map((line) => ({
            label: line.label,
            stroke: line.stroke,
            scale: definition.scale,
            show: definition.show,
          })),
        },
        width,
      ),
    );
    charts.set(definition.id, { definition, frame, caption, summary, setLines: (next) => (lines = next) });
  }
  byId('compare-api').addEventListener('change', () => reload());
  byId('compare-range').addEventListener('change', () => reload());
}

export function resetCompare() {
  state.instances = [];
  byId('compare-api').replaceChildren();
  byId('compare-api').dataset.signature = '';
  byId('compare-table').tBodies[0].replaceChildren();
  byId('compare-window').textContent = '';
  showMessage('compare-message', '');
  for (const chart of charts.values()) {
    chart.frame.clear();
    chart.summary.textContent = '';
    chart.caption.textContent = '';
  }
}

/** The APIs (apiIdentifier) of the project; the one with the most backends first by default. */
function syncApiOptions(instances) {
  const select = byId('compare-api');
  const counts = new Map();
  for (const instance of instances) counts.set(instance.apiIdentifier, (counts.get(instance.apiIdentifier) ?? 0) + 1);
  const apis = [...counts.keys()].sort();
  const signature = apis.map((api) => `${api}:${counts.get(api)}`).join(',');
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  select.replaceChildren(
    ...apis.map((api) =>
      h('option', { value: api }, `${api} (${counts.get(api)} backend${counts.get(api) === 1 ? '' : 's'})`),
    ),
  );
  const busiest = apis.reduce((best, api) => (best === null || counts.get(api) > counts.get(best) ? api : best), null);
  select.value = apis.includes(chosen) ? chosen : (busiest ?? '');
}

/** Refreshes the comparison from the project's instance rows (already fetched by the page). */
export async function refreshCompare(instances) {
  state.instances = instances;
  syncApiOptions(instances);
  const apiIdentifier = byId('compare-api').value;
  const compared = instances.filter((instance) => instance.apiIdentifier === apiIdentifier).slice(0, MAX_COMPARED);
  const window = compared.find((instance) => instance.window)?.window;
  labelWindows(byId('compare-table'), window);
  byId('compare-window').textContent = window ? `(${windowLabel(window)})` : '';
  renderTable(compared);
  if (compared.length === 0) {
    showMessage('compare-message', 'No instances registered in this project yet.');
    for (const chart of charts.values()) chart.frame.clear();
    return;
  }
  const timeRange = byId('compare-range').value;
  let series;
  try {
    const answer = await api('admin/monitoring/instances/series', {
      query: { instanceIds: compared.map((instance) => instance.instanceId).join(','), timeRange },
    });
    series = Array.isArray(answer) ? answer : (answer?.series ?? answer?.items ?? []);
  } catch (error) {
    for (const chart of charts.values()) chart.frame.clear();
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage(
      'compare-message',
      unavailable ? 'No data: series per instance are not available.' : describeError(error),
    );
    return;
  }
  const more = instances.filter((instance) => instance.apiIdentifier === apiIdentifier).length - compared.length;
  drawCharts(compared, series, timeRange, more);
}

function renderTable(compared) {
  const rows = compared.map((instance, index) => {
    const share = instance.trafficSharePercent;
    const calls = instance.calls ?? instance.recentCalls;
    return h(
      'tr',
      { 'data-instance-id': instance.instanceId },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: `swatch swatch-${index}`, 'aria-hidden': 'true' }),
        instance.businessId,
        h('span', { class: 'sub' }, instance.status),
      ),
      h(
        'td',
        { 'data-column': 'share' },
        share === null || share === undefined
          ? '—'
          : [
              h('meter', { min: 0, max: 100, value: share, 'aria-label': `Traffic share of ${instance.businessId}` }),
              ` ${format.percent(share)}`,
            ],
      ),
      h('td', { class: 'num' }, format.number(calls)),
      h('td', { class: 'num' }, format.percent(calls > 0 ? instance.successRate : null)),
      h('td', { 'data-column': 'errors' }, errorClassList(instance.errorClasses)),
      h('td', { 'data-column': 'last-error' }, lastErrorText(instance.lastError)),
      h('td', { 'data-column': 'probe' }, stateBadge(instance.breakerState), nextProbeText(instance.nextProbeAt)),
    );
  });
  byId('compare-table').tBodies[0].replaceChildren(...rows);
}

/** `{ SERVER_ERROR: 3, TIMEOUT: 1 }` as a list, most frequent first; successes are not errors. */
export function errorClassList(errorClasses) {
  const entries = Object.entries(errorClasses ?? {})
    .filter(([outcome, count]) => outcome !== 'SUCCESS' && count > 0)
    .sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return h('span', { class: 'muted' }, 'none');
  return h(
    'ul',
    { class: 'plain' },
    entries.map(([outcome, count]) => h('li', {}, `${outcome} `, h('strong', {}, format.number(count)))),
  );
}

/** The last error: when, what (outcome and HTTP status) and its message. */
export function lastErrorText(lastError) {
  if (!lastError) return h('span', { class: 'muted' }, 'none');
  const what = [lastError.outcome, lastError.statusCode ? `HTTP ${lastError.statusCode}` : null]
    .filter(Boolean)
    .join(' · ');
  return [
    h('span', { class: 'nowrap' }, timeElement(lastError.at)),
    h('span', { class: 'sub' }, what),
    lastError.message ? h('span', { class: 'sub message', title: lastError.message }, lastError.message) : null,
  ];
}

/**
 * "next probe 14:03:05 (in 25 s)" for an open breaker; nothing otherwise. The relative part only
 * with `reference`, the gateway's time of the answer (the browser's clock may differ from it).
 */
export function nextProbeText(nextProbeAt, reference) {
  if (!nextProbeAt) return null;
  const relative = reference ? relativeTime(nextProbeAt, reference) : '';
  return h(
    'span',
    { class: 'sub next-probe' },
    'next probe ',
    h('time', { datetime: nextProbeAt }, format.time(nextProbeAt)),
    relative ? ` (${relative})` : '',
  );
}

function drawCharts(compared, series, timeRange, more) {
  const byInstance = new Map(series.map((entry) => [entry.instanceId, entry.points ?? []]));
  const stamps = [...new Set(series.flatMap((entry) => (entry.points ?? []).map((point) => point.timestamp)))].sort(
    (a, b) => a - b,
  );
  const times = stamps.map((stamp) => stamp / 1000);
  const signature = compared.map((instance) => instance.instanceId).join(',');
  const bucket = series.find((entry) => entry.bucketMinutes)?.bucketMinutes ?? bucketOf(stamps);
  const range = windowLabel(timeRange);
  showMessage(
    'compare-message',
    [
      stamps.length === 0 ? 'No data for this range.' : bucketText(bucket),
      more > 0 ? `The first ${compared.length} backends are compared.` : '',
    ]
      .filter(Boolean)
      .join(' '),
  );
  for (const chart of charts.values()) {
    const lines = compared.map((instance, index) => ({
      label: instance.businessId,
      stroke: PALETTE[index % PALETTE.length],
    }));
    chart.setLines(lines);
    chart.caption.textContent = `(${range})`;
    const data = [
      times,
      ...compared.map((instance) => {
        const points = new Map((byInstance.get(instance.instanceId) ?? []).map((point) => [point.timestamp, point]));
        return stamps.map((stamp) => {
          const point = points.get(stamp);
          return point ? (chart.definition.value(point) ?? null) : null;
        });
      }),
    ];
    chart.summary.textContent = summarise(chart.definition, compared, data);
    try {
      chart.frame.draw(data, signature);
    } catch (error) {
      showMessage('compare-message', describeError(error));
      return;
    }
  }
}

/** A sentence per chart for screen readers: each backend's highest (latency) or total (calls) value. */
function summarise(definition, compared, data) {
  return compared
    .map((instance, index) => {
      const values = data[index + 1].filter((value) => value !== null);
      if (values.length === 0) return `${instance.businessId}: no data`;
      if (definition.id === 'calls')
        return `${instance.businessId}: ${format.number(values.reduce((a, b) => a + b, 0))} calls`;
      if (definition.id === 'latency') return `${instance.businessId}: highest ${format.ms(Math.max(...values))}`;
      return `${instance.businessId}: lowest ${format.percent(Math.min(...values))}`;
    })
    .join('; ')
    .concat('.');
}

function bucketOf(stamps) {
  return stamps.length > 1 ? Math.round((stamps[1] - stamps[0]) / 60_000) : 0;
}

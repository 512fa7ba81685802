// The overview cards: the project's figures over the monitoring window.
import { ApiError, api, describeError } from './api.js';
import { byId, format, h, showMessage, windowLabel } from './dom.js';

const CARDS = [
  {
    label: 'Healthy instances',
    value: (d) => `${format.number(d.healthyInstances)} / ${format.number(d.totalInstances)}`,
  },
  { label: 'Active instances', value: (d) => format.number(d.activeInstances) },
  { label: 'Open breakers', value: (d) => format.number(d.openBreakers), alert: (d) => d.openBreakers > 0 },
  { label: 'Success rate', value: (d) => format.percent(d.totalCalls > 0 ? d.averageSuccessRate : null) },
  { label: 'Average latency', value: (d) => format.ms(d.totalCalls > 0 ? d.averageLatency : null) },
  { label: 'p95 / p99 latency', value: (d) => `${format.ms(d.p95LatencyMs)} / ${format.ms(d.p99LatencyMs)}` },
  { label: 'Calls', value: (d) => format.number(d.totalCalls) },
  { label: 'Selections', value: (d) => format.number(d.totalSelections) },
  { label: 'Tokens', value: (d) => format.number(d.totalTokens) },
  { label: 'Cost', value: (d) => format.money(d.totalCost) },
];

export function resetOverview() {
  byId('overview-cards').replaceChildren();
  byId('overview-window').textContent = '';
  showMessage('overview-message', '');
}

export async function refreshOverview(projectId) {
  let data;
  try {
    data = await api('admin/monitoring/overview', { query: { projectId } });
  } catch (error) {
    resetOverview();
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage('overview-message', unavailable ? 'No data: the overview is not available.' : describeError(error));
    return;
  }
  showMessage('overview-message', '');
  const window = windowLabel(data.window ?? (data.windowMinutes ? `${data.windowMinutes}m` : ''));
  byId('overview-window').textContent = window ? `(${window})` : '';
  byId('overview-cards').replaceChildren(
    ...CARDS.map((card) =>
      h(
        'div',
        { class: card.alert?.(data) ? 'card alert' : 'card' },
        h('dt', {}, card.label),
        h('dd', {}, card.value(data)),
      ),
    ),
  );
}

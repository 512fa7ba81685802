// The fleet view, shown after login: every project at a glance (GET /api/admin/monitoring/fleet):
// totals, open breakers with the time of their next probe, degraded APIs, the commonest error
// classes and a summary per project. Every figure names its window.
import { ApiError, api, describeError } from './api.js';
import { nextProbeText } from './compare.js';
import { byId, format, h, labelWindows, showMessage, stateBadge, timeElement, windowLabel } from './dom.js';

const CARDS = [
  { label: 'Projects', value: (t) => format.number(t.projects) },
  { label: 'Instances', value: (t) => format.number(t.instances) },
  { label: 'Open breakers', value: (t) => format.number(t.openBreakers), alert: (t) => t.openBreakers > 0 },
  { label: 'Degraded APIs', value: (t) => format.number(t.degradedApis), alert: (t) => t.degradedApis > 0 },
  { label: 'Calls', value: (t) => format.number(t.calls), windowed: true },
  { label: 'Success rate', value: (t) => format.percent(t.calls > 0 ? t.successRate : null), windowed: true },
];

export function resetFleet() {
  byId('fleet-cards').replaceChildren();
  for (const id of ['fleet-breakers-table', 'fleet-degraded-table', 'fleet-errors-table', 'fleet-projects-table']) {
    byId(id).tBodies[0].replaceChildren();
  }
  showMessage('fleet-message', '');
}

const projectLink = (projectId, name) => h('a', { href: `#/project/${projectId}` }, name ?? projectId);

export async function refreshFleet() {
  const timeWindow = byId('fleet-window').value;
  let fleet;
  try {
    fleet = await api('admin/monitoring/fleet', { query: { timeWindow } });
  } catch (error) {
    resetFleet();
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage('fleet-message', unavailable ? 'No data: the fleet view is not available.' : describeError(error));
    return;
  }
  showMessage('fleet-message', '');
  const window = fleet.window ?? timeWindow;
  const label = windowLabel(window);
  byId('fleet-window-label').textContent = label ? `(calls and success rate: ${label})` : '';
  labelWindows(byId('fleet-view'), window);
  const totals = fleet.totals ?? {};
  byId('fleet-cards').replaceChildren(
    ...CARDS.map((card) =>
      h(
        'div',
        { class: card.alert?.(totals) ? 'card alert' : 'card' },
        h('dt', {}, card.label, card.windowed && label ? h('span', { class: 'sub' }, label) : null),
        h('dd', {}, card.value(totals)),
      ),
    ),
  );
  const names = new Map((fleet.projects ?? []).map((project) => [project.projectId, project.name]));
  renderBreakers(fleet.openBreakers ?? [], names, fleet.generatedAt);
  renderDegraded(fleet.degradedApis ?? [], names);
  renderErrors(fleet.topErrorClasses ?? []);
  renderProjects(fleet.projects ?? []);
}

function renderBreakers(breakers, names, generatedAt) {
  byId('fleet-breakers-table').tBodies[0].replaceChildren(
    ...breakers.map((breaker) =>
      h(
        'tr',
        { 'data-instance-id': breaker.instanceId },
        h('th', { scope: 'row' }, breaker.businessId, h('span', { class: 'sub' }, breaker.apiIdentifier)),
        h('td', {}, projectLink(breaker.projectId, names.get(breaker.projectId))),
        h('td', {}, stateBadge(breaker.state), breaker.reason ? h('span', { class: 'sub' }, breaker.reason) : null),
        h('td', {}, timeElement(breaker.since)),
        h(
          'td',
          { 'data-column': 'next-probe' },
          nextProbeText(breaker.nextProbeAt, generatedAt) ??
            h('span', { class: 'muted' }, breaker.state === 'FORCED_OPEN' ? 'none: held open by an operator' : '—'),
        ),
      ),
    ),
  );
  showMessage(
    'fleet-breakers-message',
    breakers.length === 0 ? 'No open breakers: every backend is in selection.' : '',
  );
}

function renderDegraded(apis, names) {
  byId('fleet-degraded-table').tBodies[0].replaceChildren(
    ...apis.map((api) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, api.apiIdentifier),
        h('td', {}, projectLink(api.projectId, names.get(api.projectId))),
        h('td', { class: 'num' }, `${format.number(api.available)} / ${format.number(api.instances)}`),
        h('td', { class: 'num' }, format.percent(api.successRate)),
      ),
    ),
  );
  showMessage('fleet-degraded-message', apis.length === 0 ? 'No degraded APIs.' : '');
}

function renderErrors(errors) {
  byId('fleet-errors-table').tBodies[0].replaceChildren(
    ...errors.map((error) =>
      h('tr', {}, h('th', { scope: 'row' }, error.outcome), h('td', { class: 'num' }, format.number(error.calls))),
    ),
  );
  showMessage('fleet-errors-message', errors.length === 0 ? 'No errors reported.' : '');
}

function renderProjects(projects) {
  byId('fleet-projects-table').tBodies[0].replaceChildren(
    ...projects.map((project) =>
      h(
        'tr',
        { class: project.openBreakers > 0 || project.degradedApis > 0 ? 'attention' : null },
        h('th', { scope: 'row' }, projectLink(project.projectId, project.name)),
        h('td', { class: 'num' }, format.number(project.instances)),
        h('td', { class: 'num' }, format.number(project.openBreakers)),
        h('td', { class: 'num' }, format.number(project.degradedApis)),
        h('td', { class: 'num' }, format.number(project.calls)),
        h('td', { class: 'num' }, format.percent(project.calls > 0 ? project.successRate : null)),
      ),
    ),
  );
  showMessage('fleet-projects-message', projects.length === 0 ? 'No projects yet.' : '');
}

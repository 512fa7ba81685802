// The breaker event log of the project, newest first, 50 per page.
import { api, describeError } from './api.js';
import { byId, h, showMessage, stateBadge, timeElement } from './dom.js';

const PAGE_SIZE = 50;
const state = { page: 1, instanceId: '', names: new Map() };
let reload = () => undefined;

/** `onChange` reloads the events (after a page or filter change). */
export function initEvents(onChange) {
  reload = onChange;
  byId('events-newer').addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    reload();
  });
  byId('events-older').addEventListener('click', () => {
    state.page += 1;
    reload();
  });
  byId('events-instance').addEventListener('change', (event) => {
    state.instanceId = event.currentTarget.value;
    state.page = 1;
    reload();
  });
}

export function resetEvents() {
  state.page = 1;
  state.instanceId = '';
  byId('events-table').tBodies[0].replaceChildren();
  showMessage('events-message', '');
}

/** Instance names for the log (it carries ids only). */
export function setInstanceNames(instances) {
  state.names = new Map(instances.map((instance) => [instance.instanceId, instance.businessId]));
}

export async function refreshEvents(projectId) {
  let page;
  try {
    page = await api('admin/breaker-events', {
      query: { projectId, instanceId: state.instanceId, page: state.page, size: PAGE_SIZE },
    });
  } catch (error) {
    showMessage('events-message', describeError(error));
    return;
  }
  byId('events-table').tBodies[0].replaceChildren(
    ...page.items.map((event) =>
      h(
        'tr',
        {},
        h('td', {}, timeElement(event.at)),
        h('td', {}, state.names.get(event.instanceId) ?? event.instanceId),
        h('td', {}, stateBadge(event.from), ' → ', stateBadge(event.to)),
        h('td', {}, event.reason),
      ),
    ),
  );
  const pages = Math.max(1, Math.ceil(page.total / page.size));
  byId('events-page').textContent = `Page ${page.page} of ${pages} (${page.total} events)`;
  byId('events-newer').disabled = page.page <= 1;
  byId('events-older').disabled = page.page >= pages;
  showMessage('events-message', page.total === 0 ? 'No breaker transitions recorded.' : '');
}

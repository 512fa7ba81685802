// The dashboard's entry point: login, routing and the live refresh. Views: the fleet (`#/fleet`,
// the default after login), a project (`#/project/<id>`), admin users (`#/users`), webhooks
// (`#/webhooks`).
import { api, clearSession, currentSession, describeError, login, onUnauthorized } from './api.js';
import { initCharts, refreshCharts, resetCharts } from './charts.js';
import { initCompare, refreshCompare, resetCompare } from './compare.js';
import { initDialogs } from './dialogs.js';
import { announce, byId, format, showMessage, syncInstanceOptions } from './dom.js';
import { initEvents, refreshEvents, resetEvents, setInstanceNames } from './events.js';
import { refreshFleet, resetFleet } from './fleet.js';
import { initInstances, refreshInstances, resetInstances } from './instances.js';
import { initKeys, loadKeys } from './keys.js';
import { refreshOverview, resetOverview } from './overview.js';
import { Refresher } from './refresher.js';
import { initProjects, loadProjects, markCurrentProject } from './projects.js';
import { initUsers, loadUsers } from './users.js';
import { initWebhooks, loadWebhooks } from './webhooks.js';

/** `?refresh=500` sets the interval in ms (tests, wall displays); default 5 s, at least 250 ms. */
function refreshInterval() {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isFinite(asked) && asked >= 250 ? Math.min(asked, 3_600_000) : 5000;
}

const VIEWS = {
  fleet: { element: 'fleet-view', heading: 'fleet-title', title: 'Fleet' },
  project: { element: 'project-detail', heading: 'project-title' },
  users: { element: 'users-view', heading: 'users-title', title: 'Admin users' },
  webhooks: { element: 'webhooks-view', heading: 'webhooks-title', title: 'Webhooks' },
};

/** `view.name`: the view shown; `view.project`: the open project (project view only). */
const view = { name: null, project: null };
const refresher = new Refresher(refreshView, refreshInterval());

function showLogin(message) {
  refresher.stop();
  view.name = null;
  view.project = null;
  byId('boot-message').hidden = true;
  byId('app-view').hidden = true;
  byId('session').hidden = true;
  byId('login-view').hidden = false;
  showMessage('login-error', message ?? '');
  document.title = 'Log in — Gateway dashboard';
  byId('login-username').focus();
}

async function showApp(session) {
  byId('boot-message').hidden = true;
  byId('login-view').hidden = true;
  byId('app-view').hidden = false;
  byId('session').hidden = false;
  byId('session-user').textContent =
    `Signed in as ${session.username}${session.role === 'viewer' ? ' (read-only)' : ''}`;
  // Viewers may only read: the write controls are not offered at all.
  document.body.classList.toggle('read-only', session.role === 'viewer');
  await loadProjects();
  await route();
}

/** Shows one view, hides the others, marks its link in the navigation. */
function switchView(name) {
  view.name = name;
  for (const [key, { element }] of Object.entries(VIEWS)) byId(element).hidden = key !== name;
  for (const link of document.querySelectorAll('.main-nav a')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Only the live views refresh; the management views load when opened and after each change.
  byId('refresh-bar').hidden = name !== 'fleet' && name !== 'project';
  showMessage('view-message', '');
  if (VIEWS[name].title) document.title = `${VIEWS[name].title} — Gateway dashboard`;
}

async function route() {
  if (!currentSession()) return;
  const project = /^#\/project\/([0-9a-f]{32})$/.exec(location.hash);
  refresher.stop();
  if (project) return openProject(project[1]);
  view.project = null;
  markCurrentProject(null);
  if (location.hash === '#/users') {
    switchView('users');
    byId('users-title').focus();
    return loadUsers();
  }
  if (location.hash === '#/webhooks') {
    switchView('webhooks');
    byId('webhooks-title').focus();
    return loadWebhooks();
  }
  switchView('fleet');
  resetFleet();
  byId('fleet-title').focus();
  await refresher.now();
}

async function openProject(id) {
  markCurrentProject(id);
  let project;
  try {
    project = await api(`admin/projects/${id}`);
  } catch (error) {
    switchView('fleet');
    showMessage('view-message', describeError(error));
    await refresher.now();
    return;
  }
  view.project = project;
  resetOverview();
  resetInstances();
  resetCompare();
  resetCharts();
  resetEvents();
  switchView('project');
  byId('project-title').textContent = project.name;
  byId('project-meta').textContent =
    `${project.status} · id ${project.id}${project.description ? ` · ${project.description}` : ''}`;
  document.title = `${project.name} — Gateway dashboard`;
  byId('project-title').focus();
  await Promise.all([loadKeys(id), refresher.now()]);
}

/** One refresh of the view shown: the fleet, or everything live of the open project. */
async function refreshView() {
  if (view.name === 'fleet') await refreshFleet();
  else if (view.name === 'project') await refreshProject();
  else return;
  byId('last-updated').textContent = `Updated ${format.time(new Date().toISOString())}`;
}

/** The sections fail independently. */
async function refreshProject() {
  const project = view.project;
  if (!project) return;
  const instances = await refreshInstances(project.id);
  if (view.project !== project) return;
  syncInstanceOptions(byId('chart-instance'), instances);
  syncInstanceOptions(byId('events-instance'), instances);
  setInstanceNames(instances);
  await Promise.allSettled([
    refreshOverview(project.id),
    refreshCompare(instances),
    refreshCharts({
      projectId: project.id,
      instanceId: byId('chart-instance').value,
      timeRange: byId('time-range').value,
    }),
    refreshEvents(project.id),
  ]);
}

function init() {
  initDialogs();
  initProjects();
  initInstances(() => void refresher.now());
  initCompare(() => void refresher.now());
  initCharts();
  initEvents(() => void (view.project && refreshEvents(view.project.id)));
  initKeys();
  initUsers();
  initWebhooks();
  // Every request of a refresh may be refused: the first one decides the message.
  onUnauthorized((message) => {
    if (byId('login-view').hidden) showLogin(message);
  });
  byId('refresh-every').textContent = `${format.number(refresher.intervalMs / 1000)} s`;
  byId('refresh-now').addEventListener('click', () => {
    void refresher.now().then(() => announce('Refreshed'));
  });
  byId('auto-refresh').addEventListener('change', (event) => refresher.setEnabled(event.currentTarget.checked));
  byId('time-range').addEventListener('change', () => void refresher.now());
  byId('chart-instance').addEventListener('change', () => void refresher.now());
  byId('fleet-window').addEventListener('change', () => void refresher.now());
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void submitLogin(event.currentTarget);
  });
  byId('logout').addEventListener('click', () => {
    clearSession();
    location.hash = '';
    showLogin('You have logged out.');
  });
  window.addEventListener('hashchange', () => void route());
  const session = currentSession();
  if (session) void showApp(session);
  else showLogin();
}

async function submitLogin(form) {
  const username = form.elements.namedItem('username').value.trim();
  const password = form.elements.namedItem('password').value;
  showMessage('login-error', '');
  try {
    const session = await login(username, password);
    form.reset();
    await showApp(session);
  } catch (error) {
    showMessage('login-error', describeError(error));
  }
}

init();

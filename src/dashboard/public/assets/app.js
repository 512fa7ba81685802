// The dashboard's entry point: login, routing (`#/project/<id>`) and the live refresh.
import { api, clearSession, currentSession, describeError, login, onUnauthorized } from './api.js';
import { initCharts, refreshCharts, resetCharts } from './charts.js';
import { announce, byId, format, showMessage, syncInstanceOptions } from './dom.js';
import { initEvents, refreshEvents, resetEvents, setInstanceNames } from './events.js';
import { initInstances, refreshInstances, resetInstances } from './instances.js';
import { initKeys, loadKeys } from './keys.js';
import { refreshOverview, resetOverview } from './overview.js';
import { Refresher } from './refresher.js';
import { initProjects, loadProjects, markCurrentProject } from './projects.js';

/** `?refresh=500` sets the interval in ms (tests, wall displays); default 5 s, at least 250 ms. */
function refreshInterval() {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isFinite(asked) && asked >= 250 ? Math.min(asked, 3_600_000) : 5000;
}

const view = { project: null };
const refresher = new Refresher(refreshProject, refreshInterval());

function showLogin(message) {
  refresher.stop();
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

async function route() {
  const match = /^#\/project\/([0-9a-f]{32})$/.exec(location.hash);
  if (!currentSession()) return;
  if (!match) {
    refresher.stop();
    view.project = null;
    markCurrentProject(null);
    byId('project-detail').hidden = true;
    byId('no-project').hidden = false;
    document.title = 'Gateway dashboard';
    return;
  }
  await openProject(match[1]);
}

async function openProject(id) {
  refresher.stop();
  markCurrentProject(id);
  let project;
  try {
    project = await api(`admin/projects/${id}`);
  } catch (error) {
    showMessage('no-project', describeError(error));
    byId('project-detail').hidden = true;
    byId('no-project').hidden = false;
    return;
  }
  view.project = project;
  resetOverview();
  resetInstances();
  resetCharts();
  resetEvents();
  byId('no-project').hidden = true;
  byId('project-detail').hidden = false;
  byId('project-title').textContent = project.name;
  byId('project-meta').textContent =
    `${project.status} · id ${project.id}${project.description ? ` · ${project.description}` : ''}`;
  document.title = `${project.name} — Gateway dashboard`;
  byId('project-title').focus();
  await Promise.all([loadKeys(id), refresher.now()]);
}

/** One refresh of everything live; the sections fail independently. */
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
    refreshCharts({
      projectId: project.id,
      instanceId: byId('chart-instance').value,
      timeRange: byId('time-range').value,
    }),
    refreshEvents(project.id),
  ]);
  byId('last-updated').textContent = `Updated ${format.time(new Date().toISOString())}`;
}

function init() {
  initProjects();
  initInstances(() => void refresher.now());
  initCharts();
  initEvents(() => void (view.project && refreshEvents(view.project.id)));
  initKeys();
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
    // The login form is gone: move the focus to the page (opening a project focuses its title).
    if (!view.project) byId('main').focus();
  } catch (error) {
    showMessage('login-error', describeError(error));
  }
}

init();

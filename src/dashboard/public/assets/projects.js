// The project list (search, pages of 20) and the "New project" form.
import { api, describeError } from './api.js';
import { announce, byId, h, showMessage } from './dom.js';

const PAGE_SIZE = 20;
const state = { page: 1, search: '', currentId: null };

export function initProjects() {
  byId('project-search').addEventListener('submit', (event) => {
    event.preventDefault();
    state.search = byId('project-search-input').value.trim();
    state.page = 1;
    void loadProjects();
  });
  byId('projects-prev').addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void loadProjects();
  });
  byId('projects-next').addEventListener('click', () => {
    state.page += 1;
    void loadProjects();
  });
  byId('project-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void createProject(event.currentTarget);
  });
}

export async function loadProjects() {
  try {
    const page = await api('admin/projects', { query: { page: state.page, size: PAGE_SIZE, search: state.search } });
    const list = byId('project-list');
    list.replaceChildren(
      ...page.items.map((project) =>
        h(
          'li',
          {},
          h('a', { href: `#/project/${project.id}`, 'data-id': project.id }, project.name, ' ', statusNote(project)),
        ),
      ),
    );
    markCurrentProject(state.currentId);
    const pages = Math.max(1, Math.ceil(page.total / page.size));
    byId('projects-page').textContent = `Page ${page.page} of ${pages}`;
    byId('projects-prev').disabled = page.page <= 1;
    byId('projects-next').disabled = page.page >= pages;
    showMessage('projects-message', page.total === 0 ? 'No projects yet.' : '');
  } catch (error) {
    showMessage('projects-message', describeError(error));
  }
}

function statusNote(project) {
  return project.status === 'ACTIVE' ? null : h('span', { class: 'sub' }, project.status);
}

/** Highlights the open project in the list (`aria-current`). */
export function markCurrentProject(id) {
  state.currentId = id;
  for (const link of byId('project-list').querySelectorAll('a')) {
    if (link.dataset.id === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function createProject(form) {
  const name = form.elements.namedItem('name').value.trim();
  const description = form.elements.namedItem('description').value.trim();
  showMessage('project-form-error', '');
  try {
    const project = await api('admin/projects', {
      method: 'POST',
      body: description ? { name, description } : { name },
    });
    form.reset();
    byId('project-create').open = false;
    announce(`Project ${project.name} created`);
    state.search = '';
    state.page = 1;
    byId('project-search-input').value = '';
    location.hash = `#/project/${project.id}`;
    await loadProjects();
  } catch (error) {
    showMessage('project-form-error', describeError(error));
  }
}

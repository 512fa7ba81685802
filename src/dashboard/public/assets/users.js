// Admin users: list, create, change the role, reset the password, delete (GET/POST/PUT/DELETE
// /api/admin/users). Viewers see the list only.
import { api, currentSession, describeError } from './api.js';
import { confirmAction, openFormDialog, showFormError } from './dialogs.js';
import { announce, byId, h, showMessage, timeElement } from './dom.js';

const ROLES = [
  { value: 'admin', label: 'admin' },
  { value: 'viewer', label: 'viewer (read only)' },
];

export function initUsers() {
  byId('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void createUser(event.currentTarget);
  });
}

export async function loadUsers() {
  let users;
  try {
    users = await api('admin/users');
  } catch (error) {
    showMessage('users-error', describeError(error));
    return;
  }
  byId('users-table').tBodies[0].replaceChildren(...users.map(userRow));
  showMessage('users-message', users.length === 0 ? 'No admin users.' : '');
}

function userRow(user) {
  const me = currentSession()?.username === user.username;
  const button = (label, onClick, className = 'secondary') => {
    const element = h(
      'button',
      { type: 'button', class: className },
      label,
      h('span', { class: 'visually-hidden' }, ` ${user.username}`),
    );
    element.addEventListener('click', () => void onClick(user));
    return element;
  };
  return h(
    'tr',
    { 'data-user-id': user.id },
    h('th', { scope: 'row' }, user.username, me ? h('span', { class: 'sub' }, 'you') : null),
    h('td', { 'data-column': 'role' }, user.role),
    h('td', {}, timeElement(user.createdAt)),
    h('td', {}, timeElement(user.updatedAt)),
    h(
      'td',
      { class: 'write-only' },
      h(
        'div',
        { class: 'actions row', role: 'group', 'aria-label': `Actions for ${user.username}` },
        button('Change role', changeRole),
        button('Reset password', resetPassword),
        button('Delete', deleteUser, 'secondary danger-text'),
      ),
    ),
  );
}

async function createUser(form) {
  const value = (name) => form.elements.namedItem(name).value;
  showMessage('user-form-error', '');
  try {
    const user = await api('admin/users', {
      method: 'POST',
      body: { username: value('username').trim(), password: value('password'), role: value('role') },
    });
    form.reset();
    announce(`User ${user.username} created as ${user.role}`);
    await loadUsers();
  } catch (error) {
    showFormError(form, 'user-form-error', error);
  }
}

function changeRole(user) {
  openFormDialog({
    title: `Role of ${user.username}`,
    submitLabel: 'Change role',
    fields: [{ name: 'role', label: 'Role', type: 'select', value: user.role, options: ROLES }],
    submit: async (form) => {
      const role = form.elements.namedItem('role').value;
      await api(`admin/users/${user.id}`, { method: 'PUT', body: { role } });
      announce(`${user.username} is now ${role}; their sessions have ended`);
      await loadUsers();
    },
  });
}

function resetPassword(user) {
  openFormDialog({
    title: `New password for ${user.username}`,
    submitLabel: 'Set password',
    fields: [{ name: 'password', label: 'New password (at least 8 characters)', type: 'password', required: true }],
    submit: async (form) => {
      await api(`admin/users/${user.id}`, {
        method: 'PUT',
        body: { password: form.elements.namedItem('password').value },
      });
      announce(`Password of ${user.username} changed; their sessions have ended`);
      await loadUsers();
    },
  });
}

async function deleteUser(user) {
  const sure = await confirmAction({
    title: `Delete ${user.username}?`,
    message: `${user.username} can no longer log in, and their sessions end at once. This cannot be undone.`,
    confirm: 'Delete user',
  });
  if (!sure) return;
  showMessage('users-error', '');
  try {
    await api(`admin/users/${user.id}`, { method: 'DELETE' });
    announce(`User ${user.username} deleted`);
  } catch (error) {
    showMessage('users-error', describeError(error));
  }
  await loadUsers();
}

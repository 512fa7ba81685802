// The project's API keys (masked): create, revoke, rotate, delete. A secret (new key, rotated key)
// is shown once, in the secret dialog.
import { api, describeError } from './api.js';
import { confirmAction, showFormError, showSecret } from './dialogs.js';
import { announce, byId, format, h, showMessage, timeElement } from './dom.js';

let projectId = null;

export function initKeys() {
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void createKey(event.currentTarget);
  });
}

export async function loadKeys(id) {
  projectId = id;
  try {
    const page = await api('admin/apikeys', { query: { projectId: id, size: 100 } });
    if (projectId !== id) return;
    byId('keys-table').tBodies[0].replaceChildren(...page.items.map(keyRow));
    const more =
      page.total > page.items.length ? `Showing ${page.items.length} of ${format.number(page.total)} keys.` : '';
    showMessage('keys-message', page.total === 0 ? 'No keys yet.' : more);
  } catch (error) {
    showMessage('keys-message', describeError(error));
  }
}

function keyRow(key) {
  const name = key.description ? `${key.maskedKey} (${key.description})` : key.maskedKey;
  const button = (label, onClick, attributes = {}) => {
    const element = h(
      'button',
      { type: 'button', class: 'secondary', ...attributes },
      label,
      h('span', { class: 'visually-hidden' }, ` ${name}`),
    );
    element.addEventListener('click', () => void onClick(key, name, element));
    return element;
  };
  const revoked = key.status === 'REVOKED';
  return h(
    'tr',
    { 'data-key-id': key.id },
    h('td', {}, h('code', {}, key.maskedKey)),
    h('td', {}, key.description ?? '—'),
    h('td', { 'data-column': 'status' }, key.status),
    h('td', {}, key.scopes ? key.scopes.join(', ') : 'all'),
    h('td', {}, timeElement(key.createdAt)),
    h('td', {}, timeElement(key.lastUsedAt)),
    h(
      'td',
      { class: 'write-only' },
      h(
        'div',
        { class: 'actions row', role: 'group', 'aria-label': 'Key actions' },
        revoked ? null : button('Revoke', revokeKey),
        revoked ? null : button('Rotate', rotateKey),
        button('Delete', deleteKey, { class: 'secondary danger-text' }),
      ),
    ),
  );
}

async function createKey(form) {
  const description = form.elements.namedItem('description').value.trim();
  showMessage('key-error', '');
  try {
    const created = await api(`admin/projects/${projectId}/apikeys`, {
      method: 'POST',
      body: description ? { description } : {},
    });
    form.reset();
    showSecret({ title: 'API key created', secret: created.apiKeyValue, what: 'API key' });
    await loadKeys(projectId);
  } catch (error) {
    showFormError(form, 'key-error', error);
  }
}

async function revokeKey(key, name) {
  const sure = await confirmAction({
    title: 'Revoke this API key?',
    message: `${name} stops working on its very next request. Applications using it get 401 API_KEY_REVOKED. This cannot be undone.`,
    confirm: 'Revoke key',
  });
  if (!sure) return;
  await act(async () => {
    await api(`admin/apikeys/${key.id}/status`, { method: 'PUT', body: { status: 'REVOKED' } });
    announce(`${key.maskedKey} revoked`);
  });
}

async function rotateKey(key, name) {
  const sure = await confirmAction({
    title: 'Rotate this API key?',
    message: `${name} gets a new secret, shown once. The current secret stops working at once: update the applications using it.`,
    confirm: 'Rotate key',
  });
  if (!sure) return;
  await act(async () => {
    const rotated = await api(`admin/apikeys/${key.id}/rotate`, { method: 'POST' });
    showSecret({ title: 'API key rotated', secret: rotated.apiKeyValue, what: 'new API key' });
  });
}

async function deleteKey(key, name) {
  const sure = await confirmAction({
    title: 'Delete this API key?',
    message: `${name} is deleted and stops working at once. This cannot be undone.`,
    confirm: 'Delete key',
  });
  if (!sure) return;
  await act(async () => {
    await api(`admin/apikeys/${key.id}`, { method: 'DELETE' });
    announce(`${key.maskedKey} deleted`);
  });
}

/** Runs a key command, shows its error, and reloads the list. */
async function act(command) {
  showMessage('key-error', '');
  try {
    await command();
  } catch (error) {
    showMessage('key-error', describeError(error));
  }
  await loadKeys(projectId);
}

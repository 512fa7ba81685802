// The project's API keys (masked) and key creation; the secret is shown once, in a dialog.
import { api, describeError } from './api.js';
import { announce, byId, format, h, showMessage, timeElement } from './dom.js';

let projectId = null;

export function initKeys() {
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void createKey(event.currentTarget);
  });
  byId('secret-copy').addEventListener('click', () => void copySecret());
  // The secret leaves the page when the dialog closes: it is never shown again.
  byId('secret-dialog').addEventListener('close', () => {
    byId('secret-value').value = '';
    byId('secret-copy-status').textContent = '';
    byId('key-description').focus();
  });
}

export async function loadKeys(id) {
  projectId = id;
  try {
    const page = await api('admin/apikeys', { query: { projectId: id, size: 100 } });
    byId('keys-table').tBodies[0].replaceChildren(
      ...page.items.map((key) =>
        h(
          'tr',
          {},
          h('td', {}, h('code', {}, key.maskedKey)),
          h('td', {}, key.description ?? '—'),
          h('td', {}, key.status),
          h('td', {}, key.scopes ? key.scopes.join(', ') : 'all'),
          h('td', {}, timeElement(key.createdAt)),
          h('td', {}, timeElement(key.lastUsedAt)),
        ),
      ),
    );
    const more =
      page.total > page.items.length ? `Showing ${page.items.length} of ${format.number(page.total)} keys.` : '';
    showMessage('keys-message', page.total === 0 ? 'No keys yet.' : more);
  } catch (error) {
    showMessage('keys-message', describeError(error));
  }
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
    showSecret(created.apiKeyValue);
    await loadKeys(projectId);
  } catch (error) {
    showMessage('key-error', describeError(error));
  }
}

function showSecret(secret) {
  const input = byId('secret-value');
  input.value = secret;
  byId('secret-dialog').showModal();
  input.focus();
  input.select();
  announce('API key created. Copy the secret now: it is shown only this once.');
}

async function copySecret() {
  const input = byId('secret-value');
  const status = byId('secret-copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    // No clipboard access (plain http on another host, or denied): leave it selected for Ctrl+C.
    input.focus();
    input.select();
    status.textContent = 'Copying was not allowed here: the secret is selected, press Ctrl+C (⌘C) to copy it.';
  }
}

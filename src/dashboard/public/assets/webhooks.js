// Webhooks (GET/POST /api/admin/webhooks, PATCH/DELETE /api/admin/webhooks/{id}, POST …/{id}/test):
// list, create (the signing secret is shown once), edit events / format / enabled, delete, send a test.
import { ApiError, api, describeError } from './api.js';
import { confirmAction, openFormDialog, showFormError, showSecret } from './dialogs.js';
import { announce, byId, h, showMessage, timeElement } from './dom.js';

export const WEBHOOK_EVENTS = [
  { value: 'breaker.transition', label: 'Breaker transitions' },
  { value: 'quota.exhausted', label: 'Quota exhausted' },
  { value: 'write-behind.failed', label: 'Database writes failing' },
];
const FORMATS = [
  { value: 'json', label: 'JSON' },
  { value: 'slack', label: 'Slack-compatible' },
];

/** projectId → name, for the scope column and the scope choice. */
let projectNames = new Map();

export function initWebhooks() {
  byId('webhook-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void createWebhook(event.currentTarget);
  });
}

export async function loadWebhooks() {
  showMessage('webhooks-error', '');
  await loadProjectNames();
  let hooks;
  try {
    const answer = await api('admin/webhooks');
    hooks = Array.isArray(answer) ? answer : (answer?.items ?? []);
  } catch (error) {
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage('webhooks-message', unavailable ? 'No data: webhooks are not available on this gateway.' : '');
    if (!unavailable) showMessage('webhooks-error', describeError(error));
    byId('webhooks-table').tBodies[0].replaceChildren();
    return;
  }
  byId('webhooks-table').tBodies[0].replaceChildren(...hooks.map(webhookRow));
  showMessage(
    'webhooks-message',
    hooks.length === 0 ? 'No webhooks yet: nobody is told when a backend goes down.' : '',
  );
}

/** The first 100 projects, for the scope of a webhook. */
async function loadProjectNames() {
  try {
    const page = await api('admin/projects', { query: { page: 1, size: 100 } });
    projectNames = new Map(page.items.map((project) => [project.id, project.name]));
  } catch {
    return; // the scope column then shows ids
  }
  const select = byId('webhook-project');
  const chosen = select.value;
  select.replaceChildren(
    h('option', { value: '' }, 'All projects (global)'),
    ...[...projectNames].map(([id, name]) => h('option', { value: id }, `Project ${name}`)),
  );
  select.value = projectNames.has(chosen) ? chosen : '';
}

const scopeText = (projectId) =>
  projectId ? `Project ${projectNames.get(projectId) ?? projectId}` : 'All projects (global)';

function deliveryText(delivery) {
  if (!delivery) return h('span', { class: 'muted' }, 'none yet');
  return [
    h(
      'span',
      { class: delivery.ok ? 'ok' : 'error-text' },
      delivery.ok ? 'OK' : 'Failed',
      ` (${delivery.status ?? '—'})`,
    ),
    h('span', { class: 'sub' }, timeElement(delivery.at)),
    delivery.error ? h('span', { class: 'sub message', title: delivery.error }, delivery.error) : null,
  ];
}

function webhookRow(hook) {
  const button = (label, onClick, className = 'secondary') => {
    const element = h(
      'button',
      { type: 'button', class: className },
      label,
      h('span', { class: 'visually-hidden' }, ` ${hook.url}`),
    );
    element.addEventListener('click', () => void onClick(hook));
    return element;
  };
  return h(
    'tr',
    { 'data-webhook-id': hook.id },
    h('th', { scope: 'row', class: 'url' }, hook.url),
    h('td', {}, scopeText(hook.projectId)),
    h(
      'td',
      {},
      h(
        'ul',
        { class: 'plain' },
        (hook.events ?? []).map((event) => h('li', {}, event)),
      ),
    ),
    h('td', {}, hook.format),
    h('td', { 'data-column': 'enabled' }, hook.enabled ? 'yes' : 'no'),
    h('td', {}, hook.secretPrefix ? h('code', {}, `${hook.secretPrefix}…`) : '—'),
    h('td', { 'data-column': 'delivery' }, deliveryText(hook.lastDelivery)),
    h(
      'td',
      { class: 'write-only' },
      h(
        'div',
        { class: 'actions row', role: 'group', 'aria-label': 'Webhook actions' },
        button('Edit', editWebhook),
        button('Send test', testWebhook),
        button('Rotate secret', rotateSecret),
        button('Delete', deleteWebhook, 'secondary danger-text'),
      ),
    ),
  );
}

const checkedEvents = (form) => [...form.querySelectorAll('input[name="events"]:checked')].map((input) => input.value);

async function createWebhook(form) {
  showMessage('webhook-form-error', '');
  const projectId = form.elements.namedItem('projectId').value;
  const body = {
    url: form.elements.namedItem('url').value.trim(),
    projectId: projectId || null,
    events: checkedEvents(form),
    format: form.elements.namedItem('format').value,
    enabled: form.elements.namedItem('enabled').checked,
  };
  try {
    const created = await api('admin/webhooks', { method: 'POST', body });
    form.reset();
    showSecret({ title: 'Webhook created', secret: created.secret, what: 'signing secret' });
    announce(`Webhook for ${created.url} created`);
  } catch (error) {
    showFormError(form, 'webhook-form-error', error);
    return;
  }
  await loadWebhooks();
}

function editWebhook(hook) {
  openFormDialog({
    title: 'Edit webhook',
    submitLabel: 'Save webhook',
    fields: [
      // The API shows the URL masked (it may carry a token): empty keeps it, a new one replaces it.
      {
        name: 'url',
        label: 'URL',
        type: 'url',
        value: '',
        hint: `Now ${hook.url}. Leave empty to keep it.`,
      },
      { name: 'events', label: 'Events', type: 'checkboxes', value: hook.events, options: WEBHOOK_EVENTS },
      { name: 'format', label: 'Format', type: 'select', value: hook.format, options: FORMATS },
      { name: 'enabled', label: 'Enabled', type: 'checkbox', value: hook.enabled },
    ],
    submit: async (form) => {
      const url = form.elements.namedItem('url').value.trim();
      await api(`admin/webhooks/${hook.id}`, {
        method: 'PATCH',
        body: {
          ...(url ? { url } : {}),
          events: checkedEvents(form),
          format: form.elements.namedItem('format').value,
          enabled: form.elements.namedItem('enabled').checked,
        },
      });
      announce('Webhook saved');
      await loadWebhooks();
    },
  });
}

async function testWebhook(hook) {
  showMessage('webhooks-error', '');
  let text = '';
  try {
    const result = await api(`admin/webhooks/${hook.id}/test`, { method: 'POST' });
    const delivery = result?.lastDelivery ?? result;
    text =
      delivery && typeof delivery.ok === 'boolean'
        ? `Test sent to ${hook.url}: ${delivery.ok ? 'delivered' : 'failed'}${delivery.status ? ` (HTTP ${delivery.status})` : ''}${delivery.error ? ` — ${delivery.error}` : ''}.`
        : `Test event queued for ${hook.url}.`;
  } catch (error) {
    showMessage('webhooks-error', describeError(error));
  }
  await loadWebhooks();
  if (text) {
    showMessage('webhooks-message', text);
    announce(text);
  }
}

async function rotateSecret(hook) {
  const sure = await confirmAction({
    title: 'Rotate the signing secret?',
    message: `${hook.url} gets a new signing secret, shown once. Deliveries are signed with it at once: update the receiver, or it will reject them.`,
    confirm: 'Rotate secret',
  });
  if (!sure) return;
  showMessage('webhooks-error', '');
  try {
    const rotated = await api(`admin/webhooks/${hook.id}/rotate-secret`, { method: 'POST' });
    showSecret({ title: 'Webhook secret rotated', secret: rotated.secret, what: 'signing secret' });
  } catch (error) {
    showMessage('webhooks-error', describeError(error));
  }
  await loadWebhooks();
}

async function deleteWebhook(hook) {
  const sure = await confirmAction({
    title: 'Delete this webhook?',
    message: `${hook.url} will no longer be told about ${(hook.events ?? []).join(', ') || 'anything'}. This cannot be undone.`,
    confirm: 'Delete webhook',
  });
  if (!sure) return;
  showMessage('webhooks-error', '');
  try {
    await api(`admin/webhooks/${hook.id}`, { method: 'DELETE' });
    announce('Webhook deleted');
  } catch (error) {
    showMessage('webhooks-error', describeError(error));
  }
  await loadWebhooks();
}

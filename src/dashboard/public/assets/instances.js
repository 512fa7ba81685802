// The live instance table. Rows are keyed by instance and updated in place, so a refresh never
// takes the keyboard focus away from a button.
import { ApiError, api, describeError } from './api.js';
import { nextProbeText } from './compare.js';
import { confirmAction, openFormDialog } from './dialogs.js';
import { announce, byId, format, h, labelWindows, showMessage, stateBadge } from './dom.js';

const COMMANDS = [
  { state: 'FORCED_OPEN', label: 'Force open' },
  { state: 'DISABLED', label: 'Disable' },
  { state: 'AUTO', label: 'Auto' },
];

/** instanceId → { row, cells, breakerState } */
const rows = new Map();
let afterCommand = () => undefined;
/** Counts breaker commands: a list fetched while one completed is stale and is not shown. */
let commands = 0;

/** `onCommand` runs after a breaker command succeeded (the page refreshes everything). */
export function initInstances(onCommand) {
  afterCommand = onCommand;
}

export function resetInstances() {
  rows.clear();
  byId('instances-table').tBodies[0].replaceChildren();
  showMessage('instances-message', '');
  showMessage('instances-error', '');
}

/** Loads and shows the project's instances; resolves to the list (empty when unavailable). */
export async function refreshInstances(projectId) {
  let instances;
  const commandsBefore = commands;
  try {
    instances = await api('admin/monitoring/instances', { query: { projectId } });
  } catch (error) {
    const unavailable = error instanceof ApiError && error.status === 404;
    showMessage('instances-message', unavailable ? 'No data: live instance state is not available.' : '');
    showMessage('instances-error', unavailable ? '' : describeError(error));
    if (unavailable) renderRows([]);
    return [];
  }
  showMessage('instances-message', instances.length === 0 ? 'No instances registered in this project yet.' : '');
  labelWindows(byId('instances-table'), instances.find((instance) => instance.window)?.window);
  if (commandsBefore === commands) renderRows(instances); // else the refresh queued after the command shows it
  return instances;
}

function renderRows(instances) {
  const body = byId('instances-table').tBodies[0];
  const seen = new Set();
  for (const [index, instance] of instances.entries()) {
    seen.add(instance.instanceId);
    let entry = rows.get(instance.instanceId);
    if (!entry) {
      entry = createRow(instance);
      rows.set(instance.instanceId, entry);
    } else if (entry.breakerState !== instance.breakerState) {
      announce(`${instance.businessId}: breaker ${entry.breakerState} → ${instance.breakerState}`);
    }
    updateRow(entry, instance);
    // Rows move only when the order changed: moving a row would blur a focused button in it.
    if (body.children[index] !== entry.row) body.insertBefore(entry.row, body.children[index] ?? null);
  }
  for (const [id, entry] of rows) {
    if (seen.has(id)) continue;
    entry.row.remove();
    rows.delete(id);
  }
}

function createRow(instance) {
  const cell = (attributes = {}) => h('td', attributes);
  const cells = {
    name: h('th', { scope: 'row' }),
    status: cell({ 'data-column': 'status' }),
    breaker: cell({ 'data-column': 'breaker' }),
    successRate: cell({ class: 'num' }),
    p99: cell({ class: 'num' }),
    leases: cell({ class: 'num' }),
    quotas: cell({ class: 'num' }),
    coolDown: cell(),
  };
  const buttons = COMMANDS.map((command) =>
    h(
      'button',
      { type: 'button', class: 'secondary', 'aria-describedby': 'circuit-help' },
      command.label,
      h('span', { class: 'visually-hidden' }, ` ${instance.businessId}`),
    ),
  );
  const entry = { row: null, cells, breakerState: instance.breakerState, buttons, instance };
  COMMANDS.forEach((command, index) =>
    buttons[index].addEventListener('click', () => void sendCommand(entry, command.state)),
  );
  const named = (label) => [label, h('span', { class: 'visually-hidden' }, ` ${instance.businessId}`)];
  entry.edit = h('button', { type: 'button', class: 'secondary' }, ...named('Edit'));
  entry.edit.addEventListener('click', () => void editInstance(entry));
  entry.toggle = h('button', { type: 'button', class: 'secondary' });
  entry.toggle.addEventListener('click', () => void toggleStatus(entry));
  const actions = h(
    'td',
    { class: 'write-only' },
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Breaker control' }, buttons),
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Instance' }, entry.edit, entry.toggle),
  );
  entry.row = h('tr', { 'data-instance-id': instance.instanceId }, ...Object.values(cells), actions);
  return entry;
}

function updateRow(entry, instance) {
  const { cells } = entry;
  entry.instance = instance;
  entry.breakerState = instance.breakerState;
  cells.name.replaceChildren(
    instance.businessId,
    h('span', { class: 'sub' }, `${instance.apiIdentifier} · ${instance.apiType}`),
  );
  cells.status.replaceChildren(
    h('span', { class: 'registry-status' }, instance.status),
    h('span', { class: 'sub' }, String(instance.gatewayStatus ?? '').replaceAll('_', ' ')),
  );
  showBreaker(cells.breaker, {
    state: instance.breakerState,
    reason: instance.breakerReason,
    selectable: instance.selectable,
    unavailableReason: instance.unavailableReason,
    nextProbeAt: instance.nextProbeAt,
  });
  // Only the label changes, so a focused button keeps its focus.
  const active = instance.status === 'ACTIVE';
  const toggleLabel = active ? 'Deactivate' : 'Activate';
  if (entry.toggle.dataset.label !== toggleLabel) {
    entry.toggle.dataset.label = toggleLabel;
    entry.toggle.replaceChildren(toggleLabel, h('span', { class: 'visually-hidden' }, ` ${instance.businessId}`));
  }
  const calls = instance.calls ?? instance.recentCalls;
  cells.successRate.replaceChildren(
    format.percent(calls > 0 ? instance.successRate : null),
    h('span', { class: 'sub' }, `${format.number(calls)} calls`),
  );
  cells.p99.textContent = format.ms(instance.p99LatencyMs);
  cells.leases.textContent = format.number(instance.openLeases);
  cells.quotas.replaceChildren(
    h('span', { class: 'quota' }, `RPM ${format.quota(instance.rpm)}`),
    h('span', { class: 'quota' }, `TPM ${format.quota(instance.tpm)}`),
  );
  cells.coolDown.replaceChildren(instance.coolDownUntil ? `until ${format.time(instance.coolDownUntil)}` : '—');
}

function showBreaker(cell, { state, reason, selectable, unavailableReason, nextProbeAt }) {
  // The unavailable reason often repeats the breaker's ("breaker OPEN: 5 consecutive …"): say it once.
  const why = unavailableReason && !(reason && unavailableReason.includes(reason)) ? `: ${unavailableReason}` : '';
  const lines = [stateBadge(state)];
  if (reason) lines.push(h('span', { class: 'sub' }, reason));
  if (selectable === false) lines.push(h('span', { class: 'sub' }, `Not selectable${why}`));
  const probe = nextProbeText(nextProbeAt);
  if (probe) lines.push(probe);
  cell.replaceChildren(...lines);
}

async function sendCommand(entry, state) {
  const { instance } = entry;
  // A busy flag rather than `disabled`: disabling the focused button would drop the keyboard focus.
  if (entry.busy) return;
  entry.busy = true;
  showMessage('instances-error', '');
  try {
    const health = await api(`admin/instances/${instance.instanceId}/circuit`, { method: 'POST', body: { state } });
    commands += 1;
    entry.breakerState = health.breaker.state;
    showBreaker(entry.cells.breaker, {
      state: health.breaker.state,
      reason: health.breaker.reason,
      selectable: health.selectable,
      unavailableReason: health.reason,
    });
    announce(`${instance.businessId}: breaker ${health.breaker.state}`);
    afterCommand();
  } catch (error) {
    showMessage('instances-error', `${instance.businessId}: ${describeError(error)}`);
  } finally {
    entry.busy = false;
  }
}

/** Deactivate (after a confirmation: selection stops using it) or activate the instance. */
async function toggleStatus(entry) {
  const { instance } = entry;
  if (entry.busy) return;
  const deactivate = instance.status === 'ACTIVE';
  if (
    deactivate &&
    !(await confirmAction({
      title: `Deactivate ${instance.businessId}?`,
      message: `Selection stops returning ${instance.businessId} (${instance.apiIdentifier}) until it is activated again. Its registration, figures and breaker are kept.`,
      confirm: 'Deactivate',
    }))
  ) {
    return;
  }
  entry.busy = true;
  showMessage('instances-error', '');
  try {
    const updated = await api(`admin/instances/${instance.instanceId}/${deactivate ? 'deactivate' : 'activate'}`, {
      method: 'POST',
    });
    commands += 1;
    announce(`${instance.businessId}: ${updated.status}`);
    afterCommand();
  } catch (error) {
    showMessage('instances-error', `${instance.businessId}: ${describeError(error)}`);
  } finally {
    entry.busy = false;
  }
}

const json = (value) => (value === null || value === undefined ? '' : JSON.stringify(value, null, 2));

/** Parses a JSON object typed into a field; a mistake is reported with the field's name. */
function parseObject(text, field, { nullable }) {
  const trimmed = text.trim();
  if (trimmed === '') return nullable ? null : {};
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: 'Check the fields below.',
      details: [{ field, message: `${field} must be a JSON object, e.g. {"priority": 1}` }],
    });
  }
  return value;
}

/** Edits the registration of an instance: API identifier, user, endpoint, routing parameters, metadata. */
async function editInstance(entry) {
  const { instance } = entry;
  showMessage('instances-error', '');
  let current;
  try {
    current = await api(`admin/instances/${instance.instanceId}`);
  } catch (error) {
    showMessage('instances-error', `${instance.businessId}: ${describeError(error)}`);
    return;
  }
  openFormDialog({
    title: `Edit ${current.businessId} (${current.apiType})`,
    submitLabel: 'Save instance',
    fields: [
      { name: 'apiIdentifier', label: 'API identifier', value: current.apiIdentifier, required: true },
      { name: 'userId', label: 'User id (optional: only selections for this user get it)', value: current.userId },
      { name: 'endpoint', label: 'Endpoint (http or https URL, optional)', value: current.endpoint, type: 'url' },
      {
        name: 'routingParams',
        label: 'Routing parameters (JSON object)',
        hint: 'priority, weight, costPerUnit, rpmLimit, tpmLimit, maxConcurrency, timeoutMs, slowCallMs, breaker',
        value: json(current.routingParams),
        type: 'textarea',
      },
      { name: 'metadata', label: 'Metadata (JSON object, optional)', value: json(current.metadata), type: 'textarea' },
    ],
    submit: async (form) => {
      const value = (name) => form.elements.namedItem(name).value;
      const body = {
        apiIdentifier: value('apiIdentifier').trim(),
        userId: value('userId').trim() || null,
        endpoint: value('endpoint').trim() || null,
        routingParams: parseObject(value('routingParams'), 'routingParams', { nullable: false }),
        metadata: parseObject(value('metadata'), 'metadata', { nullable: true }),
      };
      const saved = await api(`admin/instances/${instance.instanceId}`, { method: 'PUT', body });
      commands += 1;
      announce(`${saved.businessId} saved`);
      afterCommand();
    },
  });
}

// Small DOM and formatting helpers. Data only ever reaches the page as text, never as HTML.

/** `h('td', { class: 'num' }, '42')`: an element with attributes, listeners (`onclick`) and text or node children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}`);
  return element;
}

/** Shows `text` in a message element, or hides it when `text` is empty. */
export function showMessage(id, text) {
  const element = byId(id);
  element.textContent = text ?? '';
  element.hidden = !text;
}

/** Says something to screen-reader users through the polite live region. */
export function announce(text) {
  byId('announcer').textContent = text;
}

/** A breaker state as a badge: colour and text together. */
export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, state ?? 'UNKNOWN');
}

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
const DASH = '—';

export const format = {
  number: (value) => (value === null || value === undefined ? DASH : number.format(value)),
  percent: (value) => (value === null || value === undefined ? DASH : `${number.format(value)} %`),
  ms: (value) => (value === null || value === undefined ? DASH : `${number.format(Math.round(value))} ms`),
  money: (value) => (value === null || value === undefined ? DASH : money.format(value)),
  dateTime: (iso) => (iso ? new Date(iso).toLocaleString() : DASH),
  time: (iso) => (iso ? new Date(iso).toLocaleTimeString() : DASH),
  /** `12 / 100`, or `12 (no limit)`. */
  quota: (quota) => {
    if (!quota) return DASH;
    return quota.limit === null || quota.limit === undefined
      ? `${number.format(quota.used)} (no limit)`
      : `${number.format(quota.used)} / ${number.format(quota.limit)}`;
  },
};

/** A `<time>` element showing a local date and time. */
export function timeElement(iso) {
  return iso ? h('time', { datetime: iso }, format.dateTime(iso)) : DASH;
}

/** Keeps a `<select>`'s instance options in step with the instance list, preserving the choice. */
export function syncInstanceOptions(select, instances) {
  // Rebuilding the options of a focused select would disturb a keyboard user: only on a change.
  const signature = instances.map((instance) => `${instance.instanceId}:${instance.businessId}`).join(',');
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  const options = [h('option', { value: '' }, 'All instances')];
  for (const instance of instances) {
    options.push(h('option', { value: instance.instanceId }, `${instance.businessId} (${instance.apiIdentifier})`));
  }
  select.replaceChildren(...options);
  select.value = instances.some((instance) => instance.instanceId === chosen) ? chosen : '';
}

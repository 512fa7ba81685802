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

const WINDOW_UNITS = { s: ['second', 1 / 60], m: ['minute', 1], h: ['hour', 60], d: ['day', 1440] };

/**
 * The window a figure covers, as words: `'10m'` → "last 10 minutes", `'1h'` → "last hour", a
 * number of minutes, or an object naming one (`{ name | timeWindow | label | minutes | seconds }`).
 */
export function windowLabel(window) {
  if (window === null || window === undefined || window === '') return '';
  if (typeof window === 'number') return windowLabel(`${window}m`);
  if (typeof window === 'object') {
    if (typeof window.label === 'string') return window.label;
    const named = window.name ?? window.timeWindow ?? window.timeRange ?? window.window;
    if (typeof named === 'string' || typeof named === 'number') return windowLabel(named);
    if (typeof window.minutes === 'number') return windowLabel(`${window.minutes}m`);
    if (typeof window.seconds === 'number') return windowLabel(`${window.seconds}s`);
    if (typeof window.windowMinutes === 'number') return windowLabel(`${window.windowMinutes}m`);
    return '';
  }
  const match = /^(\d+)\s*([smhd])$/.exec(String(window).trim());
  if (!match) return String(window);
  const [, amount, unit] = match;
  const [word] = WINDOW_UNITS[unit];
  return Number(amount) === 1 ? `last ${word}` : `last ${amount} ${word}s`;
}

/** Puts "(last 10 minutes)" into every `.window-label` below `root`. */
export function labelWindows(root, window) {
  const text = windowLabel(window);
  for (const element of root.querySelectorAll('.window-label')) element.textContent = text ? `(${text})` : '';
}

/** "in 25 s", "in 3 min", "now" or "12 s ago": `iso` seen from `reference` (the server's time). */
export function relativeTime(iso, reference = new Date().toISOString()) {
  if (!iso) return '';
  const seconds = Math.round((Date.parse(iso) - Date.parse(reference)) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (Math.abs(seconds) < 1) return 'now';
  const amount = Math.abs(seconds);
  const text =
    amount < 120 ? `${amount} s` : amount < 7200 ? `${Math.round(amount / 60)} min` : `${Math.round(amount / 3600)} h`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

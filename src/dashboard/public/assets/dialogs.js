// The page's modal dialogs: a confirmation before anything destructive, a small form (edit an
// instance, a webhook, a password), and the secret shown once (API keys, webhooks).
import { describeError, fieldErrors } from './api.js';
import { announce, byId, h, showMessage } from './dom.js';

/**
 * Asks before a destructive action. Resolves to true only when the person pressed the confirm
 * button (Escape and Cancel say no).
 *
 * @example if (await confirmAction({ title: 'Revoke key?', message: '…', confirm: 'Revoke key' })) …
 */
export function confirmAction({ title, message, confirm }) {
  const dialog = byId('confirm-dialog');
  const opener = document.activeElement;
  byId('confirm-title').textContent = title;
  byId('confirm-message').textContent = message;
  byId('confirm-ok').textContent = confirm;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'confirm');
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      },
      { once: true },
    );
    dialog.showModal();
    // The safe choice has the focus: Enter does not destroy anything by accident.
    byId('confirm-cancel').focus();
  });
}

/** Marks the fields an error names (`aria-invalid`) in `form`, and focuses the first one. */
export function markInvalid(form, error) {
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
  let first = null;
  for (const { field } of fieldErrors(error)) {
    const element = field ? form.querySelector(`[name="${CSS.escape(field)}"]`) : null;
    if (!element) continue;
    element.setAttribute('aria-invalid', 'true');
    first ??= element;
  }
  first?.focus();
}

/** Shows an error of the API for a form: its message and fields in `messageId`, the fields marked. */
export function showFormError(form, messageId, error) {
  showMessage(messageId, describeError(error));
  markInvalid(form, error);
}

let formSubmit = null;

/** Wires the form dialog's buttons once. */
export function initDialogs() {
  const dialog = byId('form-dialog');
  const form = byId('form-dialog-form');
  byId('form-dialog-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submitFormDialog(form);
  });
  dialog.addEventListener('close', () => {
    formSubmit = null;
    byId('form-dialog-fields').replaceChildren();
  });
  byId('secret-copy').addEventListener('click', () => void copySecret());
  // The secret leaves the page when the dialog closes: it is never shown again.
  byId('secret-dialog').addEventListener('close', () => {
    byId('secret-value').value = '';
    byId('secret-copy-status').textContent = '';
    const back = secretReturnFocus;
    secretReturnFocus = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
    else byId('main').focus();
  });
}

async function submitFormDialog(form) {
  if (!formSubmit) return;
  showMessage('form-dialog-error', '');
  try {
    await formSubmit(form);
    byId('form-dialog').close();
  } catch (error) {
    showFormError(form, 'form-dialog-error', error);
  }
}

/**
 * A field of the form dialog: `{ name, label, value, type: 'text'|'password'|'url'|'textarea'|'select'|'checkbox'|'checkboxes', options }`.
 * Every field has a visible label.
 */
function dialogField({ name, label, value, type = 'text', options = [], hint, required }) {
  const id = `form-dialog-${name}`;
  if (type === 'checkbox') {
    return h('label', {}, h('input', { type: 'checkbox', id, name, checked: Boolean(value) }), ` ${label}`);
  }
  if (type === 'checkboxes') {
    const chosen = new Set(value ?? []);
    return h(
      'fieldset',
      { class: 'checks', id },
      h('legend', {}, label),
      options.map((option) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name, value: option.value, checked: chosen.has(option.value) }),
          ` ${option.label}`,
        ),
      ),
    );
  }
  let control;
  if (type === 'textarea') {
    control = h('textarea', { id, name, rows: 4, spellcheck: 'false' });
    control.value = value ?? '';
  } else if (type === 'select') {
    control = h(
      'select',
      { id, name },
      options.map((option) => h('option', { value: option.value }, option.label)),
    );
    control.value = value ?? '';
  } else {
    control = h('input', { id, name, type, required, autocomplete: type === 'password' ? 'new-password' : 'off' });
    control.value = value ?? '';
  }
  return [h('label', { for: id }, label), hint ? h('span', { class: 'sub' }, hint) : null, control];
}

/**
 * Opens the form dialog with `fields`; `submit(form)` sends it and throws the API's error to keep
 * the dialog open with the message and the invalid fields marked.
 */
export function openFormDialog({ title, fields, submitLabel = 'Save', submit }) {
  byId('form-dialog-title').textContent = title;
  byId('form-dialog-submit').textContent = submitLabel;
  showMessage('form-dialog-error', '');
  byId('form-dialog-fields').replaceChildren(...fields.flatMap((field) => dialogField(field)));
  formSubmit = submit;
  const dialog = byId('form-dialog');
  dialog.showModal();
  dialog.querySelector('input, select, textarea')?.focus();
}

let secretReturnFocus = null;

/** Shows a secret once, in the secret dialog (`title` e.g. "API key created"). */
export function showSecret({ title, secret, what }) {
  secretReturnFocus = document.activeElement;
  byId('secret-title').textContent = title;
  const input = byId('secret-value');
  input.value = secret;
  byId('secret-dialog').showModal();
  input.focus();
  input.select();
  announce(`${title}. Copy the ${what ?? 'secret'} now: it is shown only this once.`);
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

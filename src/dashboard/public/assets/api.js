// The admin API client: the session (JWT in sessionStorage), the envelope, and 401 handling.

const SESSION_KEY = 'gateway.dashboard.session';

/** An error answer of the gateway: `{code, message, error, details, requestId}`. */
export class ApiError extends Error {
  constructor({ status, code, message, details, requestId }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

let unauthorizedHandler = () => undefined;

/** Called once per refused token (401): the page goes back to the login form. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** The stored session, or null when absent or expired. */
export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    if (session && typeof session.token === 'string' && session.expiresAt > Date.now()) return session;
  } catch {
    // A malformed entry is no session.
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Logs in and keeps the JWT for this tab only (sessionStorage, never localStorage or a cookie). */
export async function login(username, password) {
  const data = await api('admin/auth/login', { method: 'POST', body: { username, password }, anonymous: true });
  const session = { token: data.accessToken, expiresAt: Date.now() + data.expiresIn * 1000, username, role: data.role };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

/**
 * Calls `/api/<path>` and returns the envelope's `data`; throws {@link ApiError} otherwise.
 * `query` entries that are undefined or empty are left out.
 */
export async function api(path, { method = 'GET', query, body, anonymous = false } = {}) {
  const url = new URL(`/api/${path}`, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const session = anonymous ? null : currentSession();
  if (!anonymous) {
    if (!session) throw unauthorized('Your session has expired. Please log in again.');
    headers.authorization = `Bearer ${session.token}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError({
      status: 0,
      code: 'NETWORK_ERROR',
      message: 'The gateway did not answer. Check the connection.',
    });
  }
  const payload = await response.json().catch(() => null);
  if (response.ok && payload && payload.code === 200) return payload.data;
  const error = new ApiError({
    status: response.status,
    code: payload?.error ?? `HTTP_${response.status}`,
    message: payload?.message ?? `The gateway answered HTTP ${response.status}.`,
    details: payload?.details,
    requestId: payload?.requestId,
  });
  if (response.status === 401 && !anonymous) throw unauthorized(error.message, error);
  throw error;
}

function unauthorized(message, error) {
  clearSession();
  unauthorizedHandler(message);
  return error ?? new ApiError({ status: 401, code: 'UNAUTHORIZED', message });
}

/** The field errors of an answer: `[{ field, message }]` (empty when there are none). */
export function fieldErrors(error) {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return [];
  return error.details
    .filter((detail) => detail && (detail.field || detail.message))
    .map((detail) => ({ field: detail.field ? String(detail.field) : '', message: String(detail.message ?? '') }));
}

/**
 * A person-readable line for an error: the envelope's message, each field error with its field
 * ("password: must be at least 8 characters"), and the request id of a 5xx.
 */
export function describeError(error) {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const fields = fieldErrors(error)
    .map(({ field, message }) => (field && !message.startsWith(field) ? `${field}: ${message}` : message))
    .filter((text) => text && text !== error.message);
  const parts = [error.message, ...fields];
  if (error.status >= 500 && error.requestId) parts.push(`(request id ${error.requestId})`);
  return parts.join(' — ');
}

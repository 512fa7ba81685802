import { classifyReport } from './outcome-rules';
import type { OutcomeClass } from './types';

/** The report fields an attempt's outcome fills in, and the class the SDK decides retries on. */
export interface Classified {
  readonly outcome: OutcomeClass;
  readonly statusCode?: number;
  readonly retryAfterMs?: number;
  readonly errorMessage?: string;
  /**
   * Sent only when the SDK knows the class for certain without a status code (a timeout, the
   * caller's abort) or as a label (an exception's name); otherwise the gateway classifies from
   * `statusCode` and `errorMessage`, as it does for every other client.
   */
  readonly errorType?: string;
}

/** The gateway keeps the first 2048 characters of `errorMessage`; sending more is waste. */
export const MAX_ERROR_MESSAGE = 2048;
/** The largest `retryAfterMs` a report may carry. */
const MAX_RETRY_AFTER_MS = 86_400_000;
/** Bytes of a provider's error body read at most (a few times the characters kept, for multi-byte text). */
const MAX_ERROR_BODY_BYTES = 8192;

/**
 * The outcome of a `Response` by its status: 4xx/5xx as the gateway classifies them, 1xx–3xx a
 * success (the backend answered), anything else UNKNOWN (status 0: an opaque answer a browser hides).
 */
export function classifyStatus(status: number): OutcomeClass {
  if (!isHttpStatus(status)) return 'UNKNOWN';
  switch (status) {
    case 429:
    case 529: // Anthropic "overloaded": out of capacity, not broken.
      return 'RATE_LIMITED';
    case 408:
    case 504:
    case 524:
      return 'TIMEOUT';
    case 401:
    case 402: // Payment Required (DeepSeek's "Insufficient Balance"): the account, as the gateway reads it.
    case 403:
      return 'AUTH_ERROR';
  }
  if (status >= 400 && status < 500) return 'CLIENT_ERROR';
  if (status >= 500) return 'SERVER_ERROR';
  return 'SUCCESS';
}

/** Whether a number is an HTTP status a report may carry (100–599). */
function isHttpStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 100 && status <= 599;
}

/** Headers as a `Headers` object or a plain record (SDK errors carry either). */
export type HeadersLike = { get(name: string): string | null } | Record<string, unknown>;

function header(headers: HeadersLike | undefined, name: string): string | undefined {
  if (headers === undefined || headers === null || typeof headers !== 'object') return undefined;
  if (typeof headers.get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name);
    return value ?? undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : String(value);
  }
  return undefined;
}

/**
 * How long a backend asked to wait: `retry-after-ms` (OpenAI, Azure), else `Retry-After` in
 * seconds or as an HTTP date. Undefined when absent or unreadable.
 *
 * @example
 * retryAfterMs(new Headers({ 'retry-after': '2' })); // 2000
 */
export function retryAfterMs(headers: HeadersLike | undefined, now: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return clampRetry(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return clampRetry(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clampRetry(date - now);
}

function clampRetry(ms: number): number {
  return Math.round(Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)));
}

/** Cuts a message to what the gateway keeps. */
export function bounded(message: string): string {
  return message.length > MAX_ERROR_MESSAGE ? message.slice(0, MAX_ERROR_MESSAGE) : message;
}

/**
 * The outcome of a `Response`: its status, Retry-After and, when it failed, the start of its body
 * read from a clone (so the caller can still read the original), for at most `bodyTimeoutMs`.
 */
export async function classifyResponse(response: Response, bodyTimeoutMs: number): Promise<Classified> {
  if (!isHttpStatus(response.status)) {
    // An opaque answer (`mode: 'no-cors'`, a manual redirect across origins): the browser hides
    // what happened. Status 0 is no HTTP status, so none is reported (the gateway takes 100–599).
    return {
      outcome: 'UNKNOWN',
      errorMessage: `opaque response (type ${response.type}, status ${response.status}): the runtime hides the backend's answer`,
    };
  }
  const outcome = classifyStatus(response.status);
  const retry = retryAfterMs(response.headers);
  if (outcome === 'SUCCESS') return { outcome, statusCode: response.status };
  const body = await readStart(response.clone(), bodyTimeoutMs);
  const text = body.trim() || `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return {
    // The body as the gateway will read it: a provider's arrears sent as 429, say, is AUTH_ERROR there.
    outcome: classifyReport({ success: false, statusCode: response.status, errorMessage: bounded(text) }),
    statusCode: response.status,
    ...(retry === undefined ? {} : { retryAfterMs: retry }),
    errorMessage: bounded(text),
  };
}

/** The first {@link MAX_ERROR_BODY_BYTES} of a body as text; what arrived when `timeoutMs` passes. */
async function readStart(response: Response, timeoutMs: number): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    while (bytes < MAX_ERROR_BODY_BYTES) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === 'timeout' || next.done) break;
      bytes += next.value.byteLength;
      text += decoder.decode(next.value, { stream: true });
    }
  } catch {
    // A body that fails half-way still says what it said so far.
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => undefined);
  }
  return text + decoder.decode();
}

interface ErrorFacts {
  readonly message: string;
  readonly codes: readonly string[];
  readonly names: readonly string[];
  readonly status?: number;
  readonly headers?: HeadersLike;
}

/**
 * Reads what an error says, its `cause` chain and AggregateError members included: messages,
 * `code`s, class names, and a `status`/`statusCode` with its headers (OpenAI, Anthropic and
 * axios errors carry them).
 */
function factsOf(error: unknown): ErrorFacts {
  const messages: string[] = [];
  const codes: string[] = [];
  const names: string[] = [];
  let status: number | undefined;
  let headers: HeadersLike | undefined;
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4 || value === null || value === undefined || seen.has(value)) return;
    seen.add(value);
    if (typeof value !== 'object') {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        messages.push(String(value));
      return;
    }
    const record = value as Record<string, unknown>;
    if (typeof record.message === 'string' && record.message !== '') messages.push(record.message);
    if (typeof record.code === 'string') codes.push(record.code);
    if (typeof record.name === 'string') names.push(record.name);
    const response = record.response as Record<string, unknown> | undefined;
    const found = [record.status, record.statusCode, response?.status].find(
      (s): s is number => typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599,
    );
    if (status === undefined && found !== undefined) {
      status = found;
      headers = (record.headers ?? response?.headers) as HeadersLike | undefined;
    }
    if (Array.isArray(record.errors)) for (const inner of record.errors as unknown[]) visit(inner, depth + 1);
    visit(record.cause, depth + 1);
  };
  visit(error, 0);
  const message = [...new Set(messages)].join(': ');
  return { message, codes, names, status, headers };
}

/** What an attempt's signal said when `fn` threw. */
export interface AbortState {
  /** The caller's own signal aborted: not the backend's fault. */
  readonly callerAborted: boolean;
  /** The attempt's time limit (or the call's deadline) passed: set to the limit, ms. */
  readonly timedOutAfterMs?: number;
}

/**
 * The outcome of what `fn` threw: the caller's abort (CLIENT_ERROR, `errorType: "CANCELLED"`), the
 * attempt's timeout (TIMEOUT, `errorType: "TIMEOUT"`), else the class the gateway gives the report
 * made of it — its `status` (OpenAI, Anthropic, axios errors; a 1xx–3xx status says nothing), its
 * class name as `errorType` (`RateLimitError`), its message with the `code`s of its causes
 * (`fetch failed: connect ECONNREFUSED …`) — by the gateway's own rules (see outcome-rules.ts).
 */
export function classifyError(error: unknown, state: AbortState, now: number = Date.now()): Classified {
  const facts = factsOf(error);
  const message = facts.message || facts.names[0] || 'unknown error';
  if (state.callerAborted) {
    return {
      outcome: 'CLIENT_ERROR',
      errorType: 'CANCELLED',
      errorMessage: bounded(`cancelled by the caller: ${message}`),
    };
  }
  if (state.timedOutAfterMs !== undefined) {
    return {
      outcome: 'TIMEOUT',
      errorType: 'TIMEOUT',
      errorMessage: bounded(`timed out after ${state.timedOutAfterMs} ms: ${message}`),
    };
  }
  const codes = [...new Set(facts.codes.map((code) => code.toUpperCase()))];
  // Codes are not always in the message (an AggregateError's is empty): add them for the gateway.
  const withCodes = codes.every((code) => message.includes(code)) ? message : `${message} (${codes.join(', ')})`;
  const label = facts.names.find((name) => !GENERIC_NAMES.has(name));
  const retry = facts.status === undefined ? undefined : retryAfterMs(facts.headers, now);
  const report = {
    ...(facts.status === undefined ? {} : { statusCode: facts.status }),
    errorMessage: bounded(withCodes),
    ...(label === undefined ? {} : { errorType: label }),
  };
  return {
    outcome: classifyReport({ success: false, ...report }),
    ...report,
    ...(retry === undefined ? {} : { retryAfterMs: retry }),
  };
}

/** Class names that say nothing of what happened (not sent as `errorType`). */
const GENERIC_NAMES = new Set(['Error', 'TypeError', 'DOMException']);

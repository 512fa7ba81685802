import type { OutcomeClass } from './types';

/*
 * The gateway's classification of a report, copied from src/reporting/outcome-classifier.ts
 * (classifyOutcome and the rules it uses) because the SDK is published on its own and imports
 * nothing of the gateway. The SDK classifies what it reports with these very rules, so the class
 * it retries on is the class the gateway records. outcome-rules.spec.ts runs the gateway's error
 * corpus (test/fixtures/error-corpus.ts) through both: change them together.
 */

/** The fields of a report that say what happened. */
export interface OutcomeReport {
  readonly success: boolean;
  readonly errorType?: string;
  readonly statusCode?: number;
  readonly errorMessage?: string;
}

/**
 * Classifies a report as the gateway does: `success`, then `errorType`, then `statusCode`, then the
 * text of `errorMessage`, else UNKNOWN.
 *
 * @example
 * classifyReport({ success: false, errorMessage: '400 Bad Request' }); // 'CLIENT_ERROR'
 */
export function classifyReport(report: OutcomeReport): OutcomeClass {
  if (report.success) return 'SUCCESS';
  const { errorType, statusCode, errorMessage } = report;
  const named = errorType ? errorTypeClass(errorType) : undefined;
  return (
    named ??
    classifyStatusCode(statusCode) ??
    (errorMessage ? classifyMessage(errorMessage) : undefined) ??
    (errorType && named === undefined ? classifyMessage(errorType) : undefined) ??
    'UNKNOWN'
  );
}

/** HTTP status → class; undefined for codes that say nothing about a failure (1xx–3xx, junk). */
export function classifyStatusCode(statusCode: number | undefined): OutcomeClass | undefined {
  if (statusCode === undefined || !Number.isInteger(statusCode)) return undefined;
  switch (statusCode) {
    case 429:
    case 529: // Anthropic "overloaded": the backend is out of capacity, not broken.
      return 'RATE_LIMITED';
    case 408:
    case 504:
    case 524: // Cloudflare "a timeout occurred": the origin did not answer in time.
      return 'TIMEOUT';
    case 401:
    case 403:
      return 'AUTH_ERROR';
  }
  if (statusCode >= 400 && statusCode < 500) return 'CLIENT_ERROR';
  if (statusCode >= 500 && statusCode < 600) return 'SERVER_ERROR';
  return undefined;
}

/** Long bodies (HTML error pages, JSON dumps) are only read this far: bounded cost per report. */
const MAX_MESSAGE_SCAN = 2048;

/**
 * Status codes spelled out in a message: leading (OpenAI and Anthropic SDKs: "429 Rate limit…"),
 * after "status code" (axios: "Request failed with status code 503"), or after "HTTP" / "HTTP/1.1".
 * A leading code must not be followed by `.` or a digit, so an address or a version is not
 * mistaken for one.
 */
const EXPLICIT_STATUS =
  /^\W{0,2}([45]\d\d)(?![\d.])|\bstatus(?:[ _-]?code)?\W{0,3}([45]\d\d)\b|\bhttp(?:\/[\d.]+)?\s+([45]\d\d)\b/i;

/** Last resort: a lone 4xx/5xx anywhere, not part of an address, a port, a version or a longer number. */
const BARE_STATUS = /(?<![\d.:/-])\b([45]\d\d)\b(?![\d.:/-])/;

/**
 * Message patterns, tried in order, first match wins. The order settles overlaps:
 * - "aborted due to timeout" (AbortSignal.timeout) is a TIMEOUT and must precede the caller-abort rule;
 * - a caller's own abort or cancel is a CLIENT_ERROR (docs/resilience.md §1: TIMEOUT means the upstream did
 *   not answer, and LiteLLM's lesson is that caller-side errors must not cool a backend down);
 * - rate limits and auth precede everything generic, since their messages often also say "error";
 * - TIMEOUT precedes SERVER_ERROR so `ESOCKETTIMEDOUT` or an Envoy "upstream request timeout" is a timeout;
 * - CLIENT_ERROR precedes SERVER_ERROR because "Bad Request" bodies often mention "error".
 */
const MESSAGE_RULES: ReadonlyArray<readonly [RegExp, OutcomeClass]> = [
  [/aborted due to timeout|\btimeout ?error\b/i, 'TIMEOUT'],
  [
    /\b(?:operation|request) was aborted\b|\babort ?error\b|\baborted by (?:the )?(?:user|client|caller)\b|\buser aborted\b|\brequest aborted\b|\bcancell?ed\b|\bclient closed request\b/i,
    'CLIENT_ERROR',
  ],
  [
    /rate[ _-]?limit|too[ _-]?many[ _-]?requests|quota|overloaded|resource[ _-]?exhausted|throttl|slow[ _-]?down/i,
    'RATE_LIMITED',
  ],
  [
    /unauthori[sz]ed|unauthenticated|authenticat|(?:invalid|incorrect)[ _-]?(?:x-)?api[ _-]?key|api[ _-]?key[ _-]?(?:is )?(?:invalid|not valid|missing|expired)|permission[ _-]?(?:denied|error)|\bforbidden\b|access[ _-]?denied|invalid[ _-]?(?:access[ _-]?)?token|token[ _-]?(?:has )?expired/i,
    'AUTH_ERROR',
  ],
  [/timed?[ _-]?out|deadline[ _-]?exceeded|econnaborted/i, 'TIMEOUT'],
  [
    /context[ _-]?length|maximum context|context[ _-]?window|too many tokens|content[ _-]?(?:management[ _-]?)?(?:policy|filter)|filtered due to|safety system|invalid[ _-]?request|validation|bad[ _-]?request|unprocessable|(?<![a-z])not[ _-]?found\b|unsupported|client[ _-]?error|payload too large/i,
    'CLIENT_ERROR',
  ],
  [
    /econnrefused|econnreset|enotfound|eai_again|ehostunreach|enetunreach|epipe|socket hang up|connection (?:refused|reset|error|aborted|closed)|remote ?end closed|remotedisconnected|internal[ _-]?server[ _-]?error|server[ _-]?error|server had an error|bad[ _-]?gateway|service[ _-]?unavailable|upstream connect error|\bapi_error\b|network error/i,
    'SERVER_ERROR',
  ],
];

/** Classifies free text: explicit status code, then the ordered patterns, then a bare status code. */
export function classifyMessage(message: string): OutcomeClass | undefined {
  const text = message.length > MAX_MESSAGE_SCAN ? message.slice(0, MAX_MESSAGE_SCAN) : message;
  const explicit = EXPLICIT_STATUS.exec(text);
  if (explicit) {
    const byCode = classifyStatusCode(Number(explicit[1] ?? explicit[2] ?? explicit[3]));
    if (byCode) return byCode;
  }
  for (const [pattern, outcome] of MESSAGE_RULES) {
    if (pattern.test(text)) return outcome;
  }
  const bare = BARE_STATUS.exec(text);
  return bare ? classifyStatusCode(Number(bare[1])) : undefined;
}

/**
 * Clients send a handful of distinct `errorType` strings, so their normalised lookups are memoised;
 * the cap keeps a client that sends unique junk from growing the cache without bound.
 */
const ERROR_TYPE_CACHE = new Map<string, OutcomeClass | null>();
const ERROR_TYPE_CACHE_MAX = 1024;

function errorTypeClass(errorType: string): OutcomeClass | undefined {
  let outcome = ERROR_TYPE_CACHE.get(errorType);
  if (outcome === undefined) {
    outcome = ERROR_TYPE_ALIASES.get(normaliseErrorType(errorType)) ?? null;
    if (ERROR_TYPE_CACHE.size < ERROR_TYPE_CACHE_MAX) ERROR_TYPE_CACHE.set(errorType, outcome);
  }
  return outcome ?? undefined;
}

/** `RateLimitError`, `rate-limit`, `rate_limit` → `RATE_LIMIT`; `APITimeoutError` → `API_TIMEOUT_ERROR`. */
function normaliseErrorType(errorType: string): string {
  return errorType
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z\d]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * `errorType` spellings that name a class: the class names themselves, short forms, provider
 * error types (OpenAI, Anthropic, gRPC) and SDK exception names. `SUCCESS` and `UNKNOWN` are
 * deliberately absent: with `success: false` neither says anything, so the status code decides.
 */
const ERROR_TYPE_ALIASES: ReadonlyMap<string, OutcomeClass> = new Map<string, OutcomeClass>(
  (
    [
      ['SERVER_ERROR', ['SERVER', 'SERVER_ERROR', 'INTERNAL', 'INTERNAL_ERROR', 'INTERNAL_SERVER_ERROR', 'API_ERROR']],
      ['SERVER_ERROR', ['UPSTREAM_ERROR', 'CONNECTION_ERROR', 'API_CONNECTION_ERROR', 'NETWORK', 'NETWORK_ERROR']],
      ['SERVER_ERROR', ['UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'BAD_GATEWAY']],
      ['TIMEOUT', ['TIMEOUT', 'TIMEOUT_ERROR', 'TIMED_OUT', 'API_TIMEOUT_ERROR', 'DEADLINE_EXCEEDED']],
      ['TIMEOUT', ['GATEWAY_TIMEOUT', 'READ_TIMEOUT', 'REQUEST_TIMEOUT']],
      ['RATE_LIMITED', ['RATE_LIMITED', 'RATE_LIMIT', 'RATE_LIMIT_ERROR', 'RATE_LIMIT_EXCEEDED', 'TOO_MANY_REQUESTS']],
      ['RATE_LIMITED', ['THROTTLED', 'THROTTLING', 'QUOTA_EXCEEDED', 'OVERLOADED', 'OVERLOADED_ERROR']],
      ['RATE_LIMITED', ['RESOURCE_EXHAUSTED']],
      ['AUTH_ERROR', ['AUTH', 'AUTH_ERROR', 'AUTHENTICATION', 'AUTHENTICATION_ERROR', 'AUTHORIZATION_ERROR']],
      ['AUTH_ERROR', ['PERMISSION_ERROR', 'PERMISSION_DENIED', 'PERMISSION_DENIED_ERROR', 'UNAUTHORIZED']],
      ['AUTH_ERROR', ['UNAUTHENTICATED', 'FORBIDDEN']],
      ['CLIENT_ERROR', ['CLIENT', 'CLIENT_ERROR', 'INVALID_REQUEST', 'INVALID_REQUEST_ERROR', 'BAD_REQUEST']],
      ['CLIENT_ERROR', ['BAD_REQUEST_ERROR', 'VALIDATION', 'VALIDATION_ERROR', 'NOT_FOUND', 'NOT_FOUND_ERROR']],
      ['CLIENT_ERROR', ['UNPROCESSABLE_ENTITY', 'CONTENT_FILTER', 'CONTENT_POLICY', 'CONTEXT_LENGTH_EXCEEDED']],
      ['CLIENT_ERROR', ['ABORTED', 'ABORT', 'ABORT_ERROR', 'CANCELLED', 'CANCELED', 'INVALID_ARGUMENT']],
    ] as const
  ).flatMap(([outcome, names]) => names.map((name) => [name, outcome] as const)),
);

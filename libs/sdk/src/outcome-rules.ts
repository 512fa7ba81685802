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
 * text of `errorMessage`, else UNKNOWN; a message (or an `errorType` that names no class) naming an
 * account problem (arrears, insufficient balance, a suspended account) turns a rate limit or a
 * client error into AUTH_ERROR.
 *
 * @example
 * classifyReport({ success: false, errorMessage: '400 Bad Request' }); // 'CLIENT_ERROR'
 */
export function classifyReport(report: OutcomeReport): OutcomeClass {
  if (report.success) return 'SUCCESS';
  const { errorType, statusCode, errorMessage } = report;
  const named = errorType ? errorTypeClass(errorType) : undefined;
  const outcome =
    named ??
    classifyStatusCode(statusCode) ??
    (errorMessage ? classifyMessage(errorMessage) : undefined) ??
    (errorType && named === undefined ? classifyMessage(errorType) : undefined) ??
    'UNKNOWN';
  const refinable = outcome === 'RATE_LIMITED' || outcome === 'CLIENT_ERROR';
  return refinable && (isAccountProblem(errorMessage) || isAccountProblem(errorType)) ? 'AUTH_ERROR' : outcome;
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
    case 402: // Payment Required: DeepSeek's "Insufficient Balance"; the account, not the request.
    case 403:
      return 'AUTH_ERROR';
  }
  if (statusCode >= 400 && statusCode < 500) return 'CLIENT_ERROR';
  if (statusCode >= 500 && statusCode < 600) return 'SERVER_ERROR';
  return undefined;
}

/** Long bodies (HTML error pages, JSON dumps) are only read this far: bounded cost per report. */
const MAX_MESSAGE_SCAN = 2048;

/*
 * Cost. Every pattern below is a flat alternation of literals, character classes and bounded
 * repeats ({0,3}), with at most one unbounded `\w+` that no other quantifier encloses: none can
 * backtrack catastrophically, so each runs in time linear in the text. A report is read by at most
 * one status pattern, the account pattern, the eight rules and the bare-status pattern, each over
 * the first MAX_MESSAGE_SCAN characters: a few tens of thousands of character steps in the worst
 * case, microseconds on the report path. Rules stay in one ordered list rather than one combined
 * expression because the first *rule* that matches decides, not the leftmost match in the text.
 */

/**
 * Status codes spelled out in a message: leading (OpenAI and Anthropic SDKs: "429 Rate limit…"),
 * after "status code" (axios: "Request failed with status code 503"; DashScope's Java SDK:
 * `"statusCode":429`), after "error code" / "http_code" (the OpenAI and zhipuai Python SDKs:
 * "Error code: 429 - {…}"; DashScope's: "http_code: 429"), or after "HTTP" / "HTTP/1.1". A leading
 * code must not be followed by `.` or a digit, so an address or a version is not mistaken for one;
 * provider business codes (Zhipu 1302, MiniMax 1002, Qianfan 336501) have four or more digits and
 * never match.
 */
const EXPLICIT_STATUS =
  /^\W{0,2}([45]\d\d)(?![\d.])|\b(?:status(?:[ _-]?code)?|(?:error|http)[ _-]?code)\W{0,3}([45]\d\d)\b|\bhttp(?:\/[\d.]+)?\s+([45]\d\d)\b/i;

/** Last resort: a lone 4xx/5xx anywhere, not part of an address, a port, a version or a longer number. */
const BARE_STATUS = /(?<![\d.:/-])\b([45]\d\d)\b(?![\d.:/-])/;

/**
 * The account cannot pay or is shut: arrears (Zhipu 1113 "您的账户已欠费", DashScope `Arrearage`,
 * Ark `AccountOverdueError`), an empty balance (DeepSeek "Insufficient Balance", MiniMax 1008,
 * Moonshot `exceeded_current_quota_error` "… please check your account balance" or "Your account
 * … is suspended"), a locked account (Zhipu 1112/1121 "已被锁定") or an expired plan (Zhipu 1309).
 * Configuration, not capacity: `AUTH_ERROR`. "You exceeded your current quota, please check your
 * plan and billing details" is deliberately absent: OpenAI sends it for an empty balance, but
 * DashScope and Gemini for a per-minute token limit, so it stays a rate limit.
 */
const ACCOUNT_PROBLEM =
  /insufficient[ _-]?(?:account[ _-]?)?balance|account balance|arrear|overdue|\bsuspended\b|exceeded_current_quota_error|(?:has been|is) locked|(?:plan|package|subscription) has expired|欠费|余额不足|余额已用完|已被锁定|已到期/i;

/** The part of a message that is read. `slice` hands back the string itself when it is shorter. */
function head(message: string): string {
  return message.slice(0, MAX_MESSAGE_SCAN);
}

/** Whether the head of a text names an account problem (see {@link ACCOUNT_PROBLEM}). */
function isAccountProblem(text: string | undefined): boolean {
  return text !== undefined && ACCOUNT_PROBLEM.test(head(text));
}

/**
 * Message patterns, tried in order, first match wins. The order settles overlaps:
 * - "aborted due to timeout" (AbortSignal.timeout) is a TIMEOUT and must precede the caller-abort rule;
 * - a caller's own abort or cancel is a CLIENT_ERROR (docs/resilience.md §1: TIMEOUT means the upstream did
 *   not answer, and LiteLLM's lesson is that caller-side errors must not cool a backend down);
 * - an account problem precedes rate limits: Moonshot's empty balance is an `exceeded_current_quota_error`;
 * - rate limits and auth precede everything generic, since their messages often also say "error";
 * - TIMEOUT precedes SERVER_ERROR so `ESOCKETTIMEDOUT` or an Envoy "upstream request timeout" is a timeout;
 * - CLIENT_ERROR precedes SERVER_ERROR because "Bad Request" bodies often mention "error".
 *
 * Chinese providers often put nothing but a Chinese sentence in the body (Zhipu's `{"error":{"code":
 * "1302","message":"您当前使用该API的并发数过高…"}}`), so each rule carries the Chinese words their
 * documented messages use. Business codes are not matched: they collide across providers (1002 is
 * an invalid token at Zhipu, a rate limit at MiniMax).
 */
const MESSAGE_RULES: ReadonlyArray<readonly [RegExp, OutcomeClass]> = [
  [/aborted due to timeout|\btimeout ?error\b/i, 'TIMEOUT'],
  [
    /\b(?:operation|request) was aborted\b|\babort ?error\b|\baborted by (?:the )?(?:user|client|caller)\b|\buser aborted\b|\brequest aborted\b|\bcancell?ed\b|\bclient closed request\b/i,
    'CLIENT_ERROR',
  ],
  [ACCOUNT_PROBLEM, 'AUTH_ERROR'],
  [
    // "overload" also covers Ark's "due to server overload"; "model token limit" is Moonshot's context length.
    /rate[ _-]?limit|too[ _-]?many[ _-]?requests|quota|overload|resource[ _-]?exhausted|throttl|slow[ _-]?down|concurrency|high frequency|request limit reached|(?:call|usage|conn) limit|(?<!model )token limit|\b[rt]pm\b|increased too quickly|exceeded your current request|限流|限速|并发|频率过高|请求频率|调用频率|速率|限额|使用上限|流量限制|访问量过大|繁忙|资源紧张/i,
    'RATE_LIMITED',
  ],
  [
    /unauthori[sz]ed|not authori[sz]ed|unauthenticated|authenticat|(?:invalid|incorrect)[ _-]?(?:x-)?api[ _-]?key|api[ _-]?key[ _-]?(?:is )?(?:invalid|not valid|missing|expired)|permission[ _-]?(?:denied|error)|no permission|do not have permission|\bforbidden\b|access[ _-]?denied|invalid[ _-]?(?:access[ _-]?)?token|token[ _-]?(?:is )?invalid|token[ _-]?(?:has )?expired|token not match|certification failed|鉴权|认证失败|身份验证|无权|权限/i,
    'AUTH_ERROR',
  ],
  [/timed?[ _-]?out|took too long|deadline[ _-]?exceeded|econnaborted|超时/i, 'TIMEOUT'],
  [
    /context[ _-]?length|maximum context|context[ _-]?window|too many tokens|(?:input|prompt|tokens?|characters?|length)(?: is)?[ _-]too[ _-]long|model token limit|input length|max input|content[ _-]?(?:management[ _-]?)?(?:policy|filter)|filtered due to|safety system|sensitive|inappropriate|data[ _-]?inspection|high risk|invalid[ _-]?request|invalid[ _-]?(?:\w+[ _-])?param|required param|cannot be empty|call parameters|validation|bad[ _-]?request|unprocessable|(?<![a-z])not[ _-]?found\b|does not exist|unsupported|client[ _-]?error|payload too large|敏感|内容安全|不安全|违规|超长|过长|超出最大长度|参数(?:非法|错误|有误|不合法)|格式错误|不存在/i,
    'CLIENT_ERROR',
  ],
  [
    /econnrefused|econnreset|enotfound|eai_again|ehostunreach|enetunreach|epipe|socket hang up|connection (?:refused|reset|error|aborted|closed)|remote ?end closed|remotedisconnected|internal[ _-]?(?:server[ _-]?|service[ _-]?)?error|server[ _-]?error|server had an error|system error|bad[ _-]?gateway|service[ _-]?(?:temporarily )?unavailable|upstream connect error|\bapi_error\b|network error|内部错误|内部异常|网络错误|系统错误|系统异常|服务器故障|服务器错误|服务不可用|服务暂不可用/i,
    'SERVER_ERROR',
  ],
];

/** Classifies free text: explicit status code, then the ordered patterns, then a bare status code. */
export function classifyMessage(message: string): OutcomeClass | undefined {
  const text = head(message);
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
    outcome =
      ERROR_TYPE_ALIASES.get(normaliseErrorType(errorType)) ??
      ERROR_TYPE_ALIASES.get(normaliseErrorType(simpleName(errorType))) ??
      null;
    if (ERROR_TYPE_CACHE.size < ERROR_TYPE_CACHE_MAX) ERROR_TYPE_CACHE.set(errorType, outcome);
  }
  return outcome ?? undefined;
}

/**
 * A class's own name without its package or outer class: Java's `getClass().getName()` and Python's
 * `module.qualname` are what many clients send (`zhipuai.core._errors.APIReachLimitError`,
 * `HttpClientErrorException$TooManyRequests`). Looked up only when the whole string names no class.
 */
function simpleName(errorType: string): string {
  return errorType.slice(Math.max(errorType.lastIndexOf('.'), errorType.lastIndexOf('$')) + 1);
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
 * error types (OpenAI, Anthropic, gRPC) and SDK exception names (OpenAI, zhipuai, dashscope,
 * qianfan, volcengine Ark). `SUCCESS` and `UNKNOWN` are deliberately absent: with `success: false`
 * neither says anything, so the status code decides. So are SDK base classes that carry every API
 * error (`APIError`: qianfan raises it for a QPS limit as for an outage; `APIStatusError`,
 * `ApiException`, `ZhiPuAiHttpException`): the status code and the message decide for them.
 */
const ERROR_TYPE_ALIASES: ReadonlyMap<string, OutcomeClass> = new Map<string, OutcomeClass>(
  (
    [
      ['SERVER_ERROR', ['SERVER', 'SERVER_ERROR', 'INTERNAL', 'INTERNAL_ERROR', 'INTERNAL_SERVER_ERROR']],
      ['SERVER_ERROR', ['UPSTREAM_ERROR', 'CONNECTION_ERROR', 'API_CONNECTION_ERROR', 'NETWORK', 'NETWORK_ERROR']],
      ['SERVER_ERROR', ['UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE_ERROR', 'BAD_GATEWAY']],
      ['SERVER_ERROR', ['API_INTERNAL_ERROR', 'ARK_INTERNAL_SERVER_ERROR', 'ARK_API_CONNECTION_ERROR']],
      ['TIMEOUT', ['TIMEOUT', 'TIMEOUT_ERROR', 'TIMED_OUT', 'API_TIMEOUT_ERROR', 'DEADLINE_EXCEEDED']],
      ['TIMEOUT', ['GATEWAY_TIMEOUT', 'READ_TIMEOUT', 'REQUEST_TIMEOUT', 'REQUEST_TIMEOUT_ERROR', 'TIMEOUT_EXCEPTION']],
      ['TIMEOUT', ['ARK_API_TIMEOUT_ERROR']],
      ['RATE_LIMITED', ['RATE_LIMITED', 'RATE_LIMIT', 'RATE_LIMIT_ERROR', 'RATE_LIMIT_EXCEEDED', 'TOO_MANY_REQUESTS']],
      ['RATE_LIMITED', ['THROTTLED', 'THROTTLING', 'QUOTA_EXCEEDED', 'OVERLOADED', 'OVERLOADED_ERROR']],
      ['RATE_LIMITED', ['RESOURCE_EXHAUSTED', 'API_REACH_LIMIT_ERROR', 'ARK_RATE_LIMIT_ERROR']],
      // zhipuai raises it for HTTP 503, "server flow exceeded": out of capacity, like Anthropic's overloaded_error.
      ['RATE_LIMITED', ['API_SERVER_FLOW_EXCEED_ERROR']],
      ['AUTH_ERROR', ['AUTH', 'AUTH_ERROR', 'AUTHENTICATION', 'AUTHENTICATION_ERROR', 'AUTHORIZATION_ERROR']],
      ['AUTH_ERROR', ['PERMISSION_ERROR', 'PERMISSION_DENIED', 'PERMISSION_DENIED_ERROR', 'UNAUTHORIZED']],
      ['AUTH_ERROR', ['UNAUTHENTICATED', 'FORBIDDEN', 'API_AUTHENTICATION_ERROR', 'NO_API_KEY_EXCEPTION']],
      ['AUTH_ERROR', ['ACCESS_TOKEN_EXPIRED_ERROR', 'BEARER_TOKEN_EXPIRED_ERROR']],
      ['AUTH_ERROR', ['ARK_AUTHENTICATION_ERROR', 'ARK_PERMISSION_DENIED_ERROR']],
      ['CLIENT_ERROR', ['CLIENT', 'CLIENT_ERROR', 'INVALID_REQUEST', 'INVALID_REQUEST_ERROR', 'BAD_REQUEST']],
      ['CLIENT_ERROR', ['BAD_REQUEST_ERROR', 'VALIDATION', 'VALIDATION_ERROR', 'NOT_FOUND', 'NOT_FOUND_ERROR']],
      ['CLIENT_ERROR', ['UNPROCESSABLE_ENTITY', 'UNPROCESSABLE_ENTITY_ERROR', 'CONTENT_FILTER', 'CONTENT_POLICY']],
      ['CLIENT_ERROR', ['CONTEXT_LENGTH_EXCEEDED', 'ABORTED', 'ABORT', 'ABORT_ERROR', 'CANCELLED', 'CANCELED']],
      ['CLIENT_ERROR', ['INVALID_ARGUMENT', 'INVALID_ARGUMENT_ERROR', 'INVALID_PARAMETER', 'API_REQUEST_FAILED_ERROR']],
      ['CLIENT_ERROR', ['INPUT_REQUIRED', 'INPUT_REQUIRED_EXCEPTION', 'ARK_BAD_REQUEST_ERROR', 'ARK_NOT_FOUND_ERROR']],
      ['CLIENT_ERROR', ['ARK_UNPROCESSABLE_ENTITY_ERROR']],
    ] as const
  ).flatMap(([outcome, names]) => names.map((name) => [name, outcome] as const)),
);

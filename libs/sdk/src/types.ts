import type { components } from './generated/schema';

type Schemas = components['schemas'];

/** The kind of backend an instance is (`MODEL`, `SMS_SERVICE`, …). */
export type ApiType = Schemas['ApiType'];

/** An instance's lifecycle status in the registry. */
export type InstanceStatus = Schemas['InstanceStatus'];

/**
 * How the gateway classifies a reported outcome (docs/resilience.md §1). Only `SERVER_ERROR`,
 * `TIMEOUT` and `UNKNOWN` count against an instance's health; `RATE_LIMITED` is capacity,
 * `AUTH_ERROR` configuration, `CLIENT_ERROR` the caller's own doing.
 */
export type OutcomeClass = Schemas['OutcomeClass'];

/**
 * The instance select-instance chose, as `fn` receives it: call `endpoint` (null when the instance
 * was registered without one). In fail-open mode it is a remembered earlier answer and
 * `selectionId` is null (see {@link CallContext.failOpen}).
 */
export type SelectedInstance = Omit<Schemas['SelectedInstanceDto'], 'endpoint' | 'selectionId'> & {
  readonly endpoint: string | null;
  readonly selectionId: string | null;
};

/** Token counts (and an optional cost) of one call, as report-result takes them. */
export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  /** In any currency or unit the project chooses. */
  cost?: number;
}

/** What `fn` receives beside the instance. */
export interface CallContext {
  /** Aborts when the attempt times out, the call's deadline passes or the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Epoch ms after which the whole call gives up. */
  readonly deadline: number;
  /** True when the gateway was unreachable and the instance comes from the fail-open memory. */
  readonly failOpen: boolean;
}

/** One attempt of a call: which instance, what happened, how long it took. */
export interface CallAttempt {
  readonly attempt: number;
  readonly instance: SelectedInstance;
  /** The selection the report closes; null in fail-open mode. */
  readonly selectionId: string | null;
  readonly failOpen: boolean;
  readonly outcome: OutcomeClass;
  /** The backend's HTTP status, when known. */
  readonly statusCode?: number;
  /** How long the backend asked to wait (Retry-After), ms. */
  readonly retryAfterMs?: number;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  /** The error as reported: the provider's error body (bounded) or the thrown error's message. */
  readonly errorMessage?: string;
  /** What `fn` threw, when it threw. */
  readonly error?: unknown;
  /**
   * The non-2xx `Response` `fn` returned, on the last attempt only (its body is still readable);
   * earlier attempts' bodies are cancelled to free their connections.
   */
  readonly response?: Response;
}

/** What a report of one attempt says (the body of report-result, see openapi.json). */
export type AttemptReport = Schemas['ReportResultDto'];

/** Options of one `call()`; most can be given once as client defaults. */
export interface CallOptions<T> {
  /** Default: the client's `apiType`, else `MODEL`. */
  readonly apiType?: ApiType;
  /** Only instances registered for exactly this user; also sent with the reports. */
  readonly userId?: string;
  /** Session stickiness key (e.g. a conversation id). */
  readonly affinityKey?: string;
  /** `SESSION`, `USER`, `BATCH`, `REGION` or any string. */
  readonly affinityType?: string;
  readonly affinityStrength?: 'PREFERRED' | 'STRICT';
  /** Identifiers tried in order when the primary has nothing selectable. */
  readonly fallbackChain?: readonly string[];
  /** Tokens this call will probably use (reserved against `tpmLimit`). */
  readonly estimatedTokens?: number;
  /** A strategy name (`smart`, `round-robin`, …); default the project's. */
  readonly strategy?: string;
  /** Backend attempts at most, the first included (default 3). */
  readonly maxAttempts?: number;
  /** The whole call's deadline, selections and waits included (default 60 000 ms). */
  readonly timeoutMs?: number;
  /**
   * One attempt's time limit until `fn` settles and `usage` has read its result (default: the
   * instance's `routingParams.timeoutMs`, else 30 000 ms). A streamed body is not limited by it
   * once `fn` returned.
   */
  readonly attemptTimeoutMs?: number;
  /** The caller's cancellation: aborts the attempt in flight and ends the call (not retried). */
  readonly signal?: AbortSignal;
  /** Outcome classes retried on another instance (default SERVER_ERROR, TIMEOUT, RATE_LIMITED, UNKNOWN). */
  readonly retryOn?: readonly OutcomeClass[];
  /** The usage of a successful result, to report (e.g. {@link openAIUsage}); errors in it are ignored. */
  readonly usage?: (result: T) => Usage | undefined | Promise<Usage | undefined>;
  /**
   * Streamed results: `'auto'` (default) meters a `Response` with `content-type: text/event-stream`
   * and any async iterable; `false` reports as soon as `fn` returns.
   */
  readonly stream?: 'auto' | false;
  /**
   * How long a streamed result may stay unfinished after `call()` handed it back before its report
   * is sent as abandoned, with what was measured so far (default: the time left until the call's
   * deadline, plus 5 minutes). The stream itself is left alone; only its metering stops.
   */
  readonly maxStreamMs?: number;
}

/** The call options a client can hold as defaults (per-call values win). */
export type CallDefaults = Pick<
  CallOptions<unknown>,
  'apiType' | 'strategy' | 'maxAttempts' | 'timeoutMs' | 'attemptTimeoutMs' | 'retryOn' | 'maxStreamMs'
>;

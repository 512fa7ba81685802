import type { components } from './generated/schema';
import type { CallAttempt } from './types';

type Schemas = components['schemas'];

/** Every `error` code the OpenAPI document declares (one schema per code, each with its `details`). */
type DocumentedErrorCode = {
  [K in keyof Schemas]: Schemas[K] extends { error: infer Code extends string; requestId: string } ? Code : never;
}[keyof Schemas];

/**
 * The `error` code of a gateway answer (`NO_AVAILABLE_INSTANCE`, `INVALID_API_KEY`, …), or one of
 * the SDK's own when there was no answer to read: `GATEWAY_UNREACHABLE` (no connection),
 * `GATEWAY_TIMEOUT` (no answer in time), `GATEWAY_BAD_RESPONSE` (an answer that is not the
 * gateway's envelope, e.g. a proxy's HTML error page).
 */
export type GatewayErrorCode = DocumentedErrorCode | 'GATEWAY_UNREACHABLE' | 'GATEWAY_TIMEOUT' | 'GATEWAY_BAD_RESPONSE';

/** What a failed gateway request said. */
export interface GatewayErrorInit {
  readonly status?: number;
  readonly code: GatewayErrorCode;
  readonly message: string;
  readonly details?: unknown;
  readonly requestId?: string;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/** A gateway request that failed: the error envelope's fields, or why there was no answer. */
export class GatewayRequestError extends Error {
  override name = 'GatewayRequestError';
  /** The HTTP status; undefined when the gateway did not answer. */
  readonly status?: number;
  readonly code: GatewayErrorCode;
  /** Field errors (`[{field, message}]`) or a structured hint (`{tried, triedCount, retryAfterMs}`). */
  readonly details?: unknown;
  readonly requestId?: string;
  /** `details.retryAfterMs`, else the `Retry-After` header, ms. */
  readonly retryAfterMs?: number;

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }

  /**
   * True when the gateway itself is out of order (no connection, no answer in time, a 5xx):
   * what fail-open mode steps in for. A 4xx is the gateway's decision, never "unavailable".
   */
  get unavailable(): boolean {
    return this.status === undefined || this.status >= 500;
  }
}

/**
 * select-instance refused or failed: `NO_AVAILABLE_INSTANCE`, `NO_HEALTHY_INSTANCE`,
 * `FALLBACK_EXHAUSTED`, `QUOTA_EXHAUSTED` (429), `INVALID_API_KEY` (401), … with the gateway's
 * `details` (`tried`, `triedCount`, `retryAfterMs`).
 */
export class GatewaySelectError extends GatewayRequestError {
  override name = 'GatewaySelectError';
}

/**
 * A call that did not succeed: every attempt made (instance, outcome, status, latency, error) and,
 * when a selection ended it, the {@link GatewaySelectError} as `cause`.
 */
export class GatewayCallError extends Error {
  override name = 'GatewayCallError';
  readonly attempts: readonly CallAttempt[];

  constructor(message: string, attempts: readonly CallAttempt[], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.attempts = attempts;
  }

  /** The last attempt (the one whose outcome ended the call, unless a selection did). */
  get lastAttempt(): CallAttempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }
}

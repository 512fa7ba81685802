/**
 * The failover simulator's vocabulary: what a mock backend does over time, what a scenario is,
 * and what one backend call (an attempt) ended as.
 */

/** What a backend does at one instant. Fields left out mean "healthy" for that aspect. */
export interface Behaviour {
  /** Connection refused: the listener is closed (and open connections dropped). */
  readonly down?: boolean;
  /** Share of calls answered 500. */
  readonly errorRate?: number;
  /** Share of calls answered 400 (the caller's fault). */
  readonly clientErrorRate?: number;
  /** Every call answered 429 with `Retry-After: retryAfterS` (rounded up). */
  readonly rateLimited?: { readonly retryAfterS: number };
  /** Median latency of a whole answer, ms; lognormal around it. */
  readonly latencyMs?: number;
  /** Headers sent only after this many ms (slow first byte), body right after. */
  readonly firstByteMs?: number;
}

/** `behaviour` holds from `fromS` (scenario time, seconds) until the next phase starts. */
export interface Phase {
  readonly fromS: number;
  readonly behaviour: Behaviour;
}

export interface BackendSpec {
  readonly businessId: string;
  readonly apiIdentifier: string;
  readonly routingParams?: Record<string, unknown>;
  /** Phases sorted by `fromS`; before the first one the backend is healthy. */
  readonly script: readonly Phase[];
}

/** A fault to measure: on which backend, when it starts and (if it does) ends. */
export interface Fault {
  readonly businessId: string;
  readonly label: string;
  readonly startS: number;
  readonly endS?: number;
}

export interface ClientProfile {
  /** Calls per second (arrivals are a seeded Poisson process). */
  readonly rate: number;
  /** The client's own timeout on a backend call. */
  readonly timeoutMs: number;
  /** Share of gateway reports sent without `selectionId` (the reference protocol). */
  readonly noSelectionIdShare: number;
  /** Share of gateway callers that select and call but never report. */
  readonly silentShare: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly durationS: number;
  readonly primary: string;
  readonly fallbackChain?: readonly string[];
  readonly backends: readonly BackendSpec[];
  readonly faults: readonly Fault[];
  readonly client: ClientProfile;
  /** Full-mode acceptance target, for the report. */
  readonly target?: string;
  /** The strategy the gateway's client names in its selects (default: the project's, `smart`). */
  readonly gatewayStrategy?: string;
}

export type Outcome = 'ok' | 'server-error' | 'client-error' | 'rate-limited' | 'refused' | 'timeout' | 'reset';

/** One call to a backend made on behalf of one logical call. */
export interface Attempt {
  readonly businessId: string;
  /** Scenario time of the call's start, ms. */
  readonly atMs: number;
  readonly durationMs: number;
  readonly outcome: Outcome;
  readonly statusCode?: number;
  readonly retryAfterMs?: number;
}

/** One arrival, as served by one policy: zero to two attempts. */
export interface CallRecord {
  readonly atMs: number;
  readonly attempts: readonly Attempt[];
  /** The policy had nothing to offer on some try (NO_HEALTHY_INSTANCE, QUOTA_EXHAUSTED …). */
  readonly refusals: number;
}

export const POLICIES = ['gateway', 'oracle', 'round-robin', 'reference'] as const;
export type PolicyName = (typeof POLICIES)[number];

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
  /** The status of the `errorRate` answers (default 500; a provider outage answers 503). */
  readonly errorStatus?: number;
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
  /**
   * Isolated connection errors: from `atS` on, the next `calls` calls each policy makes to this
   * backend are refused, whenever they come (each policy calls its own copy of every backend), so
   * every policy meets exactly that many, however its traffic is spread over time.
   */
  readonly refusals?: readonly { readonly atS: number; readonly calls: number }[];
}

/** A fault to measure: on which backend, when it starts and (if it does) ends. */
export interface Fault {
  readonly businessId: string;
  readonly label: string;
  readonly startS: number;
  readonly endS?: number;
}

export interface ClientProfile {
  /**
   * Calls per second: the seeded Poisson process's rate; with `conversations`, what they make
   * about, for the metrics' time windows only.
   */
  readonly rate: number;
  /**
   * Closed-loop traffic instead of Poisson arrivals: each policy runs `count` conversations of its
   * own, each making one call at a time and waiting `thinkMs` (× a seeded 0.5–1.5) after each, until
   * the scenario's end; the next call's instant then depends on how fast the policy served the last.
   */
  readonly conversations?: { readonly count: number; readonly thinkMs: number };
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
  /**
   * The figure policies are ranked by in the report (lower is better): failed attempts during
   * the faults (the default), the largest share gap (fairness scenarios), p99 latency, or trips.
   */
  readonly mainFigure?: MainFigureKind;
  /**
   * The span the shares are judged over: the fault-free part before the first fault (default),
   * or the whole run when the "fault" is something a healthy instance must ride out.
   */
  readonly shareWindow?: 'before-fault' | 'whole-run';
}

export type MainFigureKind = 'failed-during-faults' | 'share-gap' | 'p99' | 'ejections';

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

export const POLICIES = [
  'gateway',
  'oracle',
  'round-robin',
  'reference',
  'replicas-cockatiel',
  'replicas-opossum',
  'litellm',
] as const;
export type PolicyName = (typeof POLICIES)[number];

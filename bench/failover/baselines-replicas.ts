/**
 * What a team deploys instead of the gateway: N replicas of the calling app, each protecting
 * itself with its own circuit breaker per backend from a kept library, over round-robin. Every
 * replica has to rediscover every outage on its own — what the gateway's shared learning saves.
 *
 * Arrival k goes to replica k mod N. A replica walks the primary identifier's best tier from its
 * own round-robin position and skips a backend whose breaker refuses the call (no attempt is
 * made); when every backend of the tier is refused it goes down the tiers and the fallback chain,
 * as generously as the reference model. A call is one try plus one retry on another backend after
 * a retryable failure (not after a 400), like the driver's.
 *
 * What the app throws into its breaker: 5xx, 429, timeouts, refused and reset connections — a
 * typical client throws on every non-2xx answer except the caller's own 4xx, so a 400 resolves
 * normally and counts as a success.
 *
 * Both libraries run with their real clocks (the simulation runs in real time):
 * - cockatiel 3.x: `circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new
 *   ConsecutiveBreaker(5) })` — opens after 5 failures in a row and lets one test call through
 *   10 s later; calls arriving during the test wait for its outcome.
 * - opossum 9 with its defaults (`new CircuitBreaker(fn, {})`, lib/circuit.js): timeout 10 s
 *   (never reached: the client's own timeout is shorter), errorThresholdPercentage 50 (opens on a
 *   failure once failures exceed half the calls in the window, calls refused while open included),
 *   resetTimeout 30 s (then one trial call), rolling window 10 s in 10 buckets, volumeThreshold 0
 *   (a first call that fails opens it), no warm-up, unlimited concurrency.
 *
 * ejections(): transitions into OPEN over all replicas' breakers, a failed trial re-opening
 * included — what the gateway's count of breaker events to OPEN counts.
 */
import { ConsecutiveBreaker, circuitBreaker, handleAll, isBrokenCircuitError } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { callBackend } from './backend';
import { type Policy, type ServedCall, tiers } from './baselines';
import type { Attempt, BackendSpec, CallRecord, Outcome, Scenario } from './types';

export type CallBackend = typeof callBackend;
export type BreakerLibrary = 'cockatiel' | 'opossum';

export interface ReplicaOptions {
  readonly library: BreakerLibrary;
  /** App replicas, each with its own breakers (default 10). */
  readonly replicas?: number;
  /** The backend call (default: the real HTTP call; specs pass a fake). */
  readonly call?: CallBackend;
}

export const COCKATIEL_HALF_OPEN_AFTER_MS = 10_000;
export const COCKATIEL_CONSECUTIVE_FAILURES = 5;

const THROWN: ReadonlySet<Outcome> = new Set<Outcome>(['server-error', 'rate-limited', 'timeout', 'refused', 'reset']);

/** A failed call as the app throws it, so that the breaker counts it. */
class FailedAttempt extends Error {
  constructor(readonly attempt: Attempt) {
    super(attempt.outcome);
  }
}

async function throwingFailures(attempt: () => Promise<Attempt>): Promise<Attempt> {
  const result = await attempt();
  if (THROWN.has(result.outcome)) throw new FailedAttempt(result);
  return result;
}

/** One breaker of one replica for one backend: the attempt, or `undefined` when it refused the call. */
interface Guard {
  run(attempt: () => Promise<Attempt>): Promise<Attempt | undefined>;
  dispose(): void;
}

function cockatielGuard(onOpen: () => void): Guard {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: COCKATIEL_HALF_OPEN_AFTER_MS,
    breaker: new ConsecutiveBreaker(COCKATIEL_CONSECUTIVE_FAILURES),
  });
  const listener = breaker.onBreak(onOpen);
  return {
    async run(attempt) {
      try {
        return await breaker.execute(() => throwingFailures(attempt));
      } catch (error) {
        if (error instanceof FailedAttempt) return error.attempt;
        if (isBrokenCircuitError(error)) return undefined;
        throw error;
      }
    },
    dispose: () => listener.dispose(),
  };
}

function opossumGuard(onOpen: () => void): Guard {
  const breaker = new CircuitBreaker(throwingFailures, {});
  breaker.on('open', onOpen);
  return {
    async run(attempt) {
      try {
        return await breaker.fire(attempt);
      } catch (error) {
        if (error instanceof FailedAttempt) return error.attempt;
        if ((error as { code?: unknown }).code === 'EOPENBREAKER') return undefined;
        throw error;
      }
    },
    // Its rolling window and reset timer are intervals and timeouts.
    dispose: () => breaker.shutdown(),
  };
}

class Replica {
  private readonly turns = new Map<string, number>();

  constructor(
    private readonly groups: readonly BackendSpec[][],
    private readonly guards: ReadonlyMap<string, Guard>,
  ) {}

  /** One try: the first backend, from this replica's turn, whose breaker lets the call through. */
  async tryOnce(
    excluded: ReadonlySet<string>,
    attemptOn: (spec: BackendSpec) => () => Promise<Attempt>,
  ): Promise<Attempt | undefined> {
    for (const group of this.groups) {
      const open = group.filter((b) => !excluded.has(b.businessId));
      if (open.length === 0) continue;
      // One turn per candidate set, as the gateway's round-robin keeps: a retry does not move the first try's.
      const key = open.map((b) => b.businessId).join(',');
      const turn = this.turns.get(key) ?? 0;
      this.turns.set(key, turn + 1);
      for (let i = 0; i < open.length; i++) {
        const spec = open[(turn + i) % open.length];
        const result = await this.guards.get(spec.businessId)?.run(attemptOn(spec));
        if (result) return result;
      }
    }
    return undefined;
  }

  async serve(served: ServedCall, call: CallBackend): Promise<CallRecord> {
    const attempts: Attempt[] = [];
    const excluded = new Set<string>();
    let refusals = 0;
    const attemptOn = (spec: BackendSpec) => () =>
      call({
        url: served.urls.get(spec.businessId) ?? '',
        businessId: spec.businessId,
        timeoutMs: served.timeoutMs,
        atMs: served.now(),
      });
    for (let n = 0; n < 2; n++) {
      const result = await this.tryOnce(excluded, attemptOn);
      if (!result) {
        refusals++;
        break;
      }
      attempts.push(result);
      if (result.outcome === 'ok' || result.outcome === 'client-error') break;
      excluded.add(result.businessId);
    }
    return { atMs: served.atMs, attempts, refusals };
  }
}

/** N app replicas, each with its own breaker per backend from `library`, over round-robin. */
export function replicaBreakers(scenario: Scenario, options: ReplicaOptions): Policy {
  const call = options.call ?? callBackend;
  const count = options.replicas ?? 10;
  const groups = tiers(scenario);
  const specs = [...new Set(groups.flat())];
  let trips = 0;
  const onOpen = (): void => {
    trips++;
  };
  const guards: Guard[] = [];
  const replicas = Array.from({ length: count }, () => {
    const own = new Map<string, Guard>();
    for (const spec of specs) {
      const guard = options.library === 'cockatiel' ? cockatielGuard(onOpen) : opossumGuard(onOpen);
      guards.push(guard);
      own.set(spec.businessId, guard);
    }
    return new Replica(groups, own);
  });
  let next = 0;
  let closed = false;
  return {
    name: `replicas-${options.library}` as const,
    // Unused: every call is served by serveCall, and each replica learns from its own calls.
    choose: () => Promise.resolve(undefined),
    learn: () => Promise.resolve(),
    ejections: () => Promise.resolve(trips),
    serveCall: (served) => replicas[next++ % count].serve(served, call),
    close() {
      if (!closed) for (const guard of guards) guard.dispose();
      closed = true;
      return Promise.resolve();
    },
  };
}

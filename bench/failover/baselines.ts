/**
 * The three baselines, run in-process on the same arrivals against the same mock backends as the
 * gateway: an oracle that reads each backend's script, naive round-robin, and a model of the Java
 * reference's rules.
 */
import { behaviourAt } from './backend';
import type { Attempt, BackendSpec, CallRecord, PolicyName, Scenario } from './types';

/** Whether (and how) the caller reports the outcome of a call. */
export type ReportMode = 'full' | 'no-selection-id' | 'silent';

export interface Choice {
  readonly businessId: string;
  readonly instanceId?: string;
  readonly selectionId?: string;
}

/** Picks a backend for a call and learns from its outcome. */
export interface Policy {
  readonly name: PolicyName;
  /** `undefined`: nothing to offer (the call is refused without a backend attempt). */
  choose(nowMs: number, excluded: readonly Choice[]): Promise<Choice | undefined>;
  learn(choice: Choice, attempt: Attempt, mode: ReportMode): Promise<void>;
  /** Ejections so far (breaker trips / exclusions), when the policy has such a notion. */
  ejections(): Promise<number | undefined>;
  /**
   * Serves a whole call itself (its tries and retries), instead of the driver's choose → call →
   * learn loop: the gateway's SDK does. Undefined when the policy leaves this call to the driver.
   */
  serveCall?(call: ServedCall): Promise<CallRecord> | undefined;
  /** Delivers what the policy still holds (queued reports) before the run's figures are read. */
  close?(): Promise<void>;
}

/** One call as the driver hands it to a policy that serves calls itself. */
export interface ServedCall {
  readonly atMs: number;
  readonly mode: ReportMode;
  /** businessId → the mock backend's URL (the instances were registered with it as `endpoint`). */
  readonly urls: ReadonlyMap<string, string>;
  readonly timeoutMs: number;
  readonly now: () => number;
}

const priorityOf = (spec: BackendSpec): number => Number(spec.routingParams?.priority ?? 0);

/** The backends of the primary identifier, then of each fallback entry, each list by tier. */
export function tiers(scenario: Scenario): BackendSpec[][] {
  const groups: BackendSpec[][] = [];
  for (const identifier of [scenario.primary, ...(scenario.fallbackChain ?? [])]) {
    const matching = scenario.backends.filter((b) => b.apiIdentifier === identifier);
    const priorities = [...new Set(matching.map(priorityOf))].sort((a, b) => b - a);
    for (const p of priorities) groups.push(matching.filter((b) => priorityOf(b) === p));
  }
  return groups;
}

const notExcluded = (excluded: readonly Choice[]) => (b: BackendSpec) =>
  !excluded.some((e) => e.businessId === b.businessId);

/** Round-robin per candidate set, as the gateway's own round-robin does. */
class Rotation {
  private readonly counters = new Map<string, number>();

  next(candidates: readonly BackendSpec[]): BackendSpec {
    const key = candidates.map((c) => c.businessId).join(',');
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    return candidates[n % candidates.length];
  }
}

/** Knows every backend's true state at each instant: best success chance, then tier, then latency. */
export function oracle(scenario: Scenario): Policy {
  const rotation = new Rotation();
  const groups = tiers(scenario);
  const chance = (spec: BackendSpec, tS: number): number => {
    const b = behaviourAt(spec, tS);
    if (b.down || b.rateLimited) return 0;
    return 1 - (b.errorRate ?? 0) - (b.clientErrorRate ?? 0);
  };
  const latency = (spec: BackendSpec, tS: number): number => {
    const b = behaviourAt(spec, tS);
    return Math.max(b.latencyMs ?? 20, b.firstByteMs ?? 0);
  };
  return {
    name: 'oracle',
    choose(nowMs, excluded) {
      const tS = nowMs / 1000;
      const open = groups.map((g) => g.filter(notExcluded(excluded))).filter((g) => g.length > 0);
      const best = Math.max(0, ...open.flat().map((b) => chance(b, tS)));
      const group = open.find((g) => g.some((b) => chance(b, tS) >= best - 1e-9));
      if (!group) return Promise.resolve(undefined);
      const top = group.filter((b) => chance(b, tS) >= best - 1e-9);
      const fastest = Math.min(...top.map((b) => latency(b, tS)));
      const pick = rotation.next(top.filter((b) => latency(b, tS) <= fastest * 1.2));
      return Promise.resolve({ businessId: pick.businessId });
    },
    learn: () => Promise.resolve(),
    ejections: () => Promise.resolve(undefined),
  };
}

/** Ignores health: the primary identifier's best-priority tier, in turn (minus this call's exclusions). */
export function roundRobin(scenario: Scenario): Policy {
  const rotation = new Rotation();
  const first = tiers(scenario)[0];
  return {
    name: 'round-robin',
    choose(_nowMs, excluded) {
      const open = first.filter(notExcluded(excluded));
      return Promise.resolve(open.length === 0 ? undefined : { businessId: rotation.next(open).businessId });
    },
    learn: () => Promise.resolve(),
    ejections: () => Promise.resolve(undefined),
  };
}

const MINUTE_MS = 60_000;
const REFERENCE_MIN_CALLS = 10;
const REFERENCE_EXCLUSION_MS = 5 * MINUTE_MS;

/**
 * The Java reference's rules: per-instance calendar-minute windows (minutes counted from the
 * scenario's start); excluded for 5 minutes once the current minute holds ≥ 10 reported calls
 * with < 50 % success; no half-open; round-robin among the rest. Generous to it: when a whole
 * tier is excluded it moves down the tiers and the fallback chain like the gateway does.
 */
export function referenceModel(scenario: Scenario): Policy {
  const rotation = new Rotation();
  const groups = tiers(scenario);
  const minutes = new Map<string, { minute: number; calls: number; ok: number }>();
  const excludedUntil = new Map<string, number>();
  let trips = 0;
  let now = 0;
  const usable = (b: { readonly businessId: string }): boolean => (excludedUntil.get(b.businessId) ?? -1) <= now;
  return {
    name: 'reference',
    choose(nowMs, excluded) {
      now = nowMs;
      const group = groups.map((g) => g.filter((b) => usable(b) && notExcluded(excluded)(b))).find((g) => g.length);
      return Promise.resolve(group ? { businessId: rotation.next(group).businessId } : undefined);
    },
    learn(choice, attempt, mode) {
      if (mode === 'silent') return Promise.resolve();
      const minute = Math.floor(attempt.atMs / MINUTE_MS);
      let w = minutes.get(choice.businessId);
      if (!w || w.minute !== minute) minutes.set(choice.businessId, (w = { minute, calls: 0, ok: 0 }));
      w.calls++;
      if (attempt.outcome === 'ok') w.ok++;
      const end = attempt.atMs + attempt.durationMs;
      if (w.calls >= REFERENCE_MIN_CALLS && w.ok / w.calls < 0.5 && usable(choice)) {
        excludedUntil.set(choice.businessId, end + REFERENCE_EXCLUSION_MS);
        trips++;
      }
      return Promise.resolve();
    },
    ejections: () => Promise.resolve(trips),
  };
}

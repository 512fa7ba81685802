/** The figures of one scenario run, per policy: success ratios, failed attempts, ejection and recovery times. */
import type { ScenarioRun } from './driver';
import type { BreakerTransitionRecord, SdkFigures } from './gateway-policy';
import { type Attempt, type CallRecord, type Fault, POLICIES, type PolicyName, type Scenario } from './types';

export interface FaultFigures {
  readonly label: string;
  readonly businessId: string;
  /** Failed attempts on the faulty backend from the fault's start to its end (or the run's). */
  readonly failedDuringFault: number;
  readonly failedFirst5s: number;
  /** Rate-limited answers from the faulty backend during the fault. */
  readonly rateLimitedDuringFault: number;
  /** Seconds from the fault's start until the backend stops getting calls; null: never. */
  readonly ejectAfterS: number | null;
  /** Failed attempts on the backend before that moment. */
  readonly failedBeforeEject: number | null;
  /** Seconds from the fault's end until the backend has its full share again; null: never. */
  readonly recoveryS: number | null;
}

export interface PolicyFigures {
  readonly calls: number;
  readonly attempts: number;
  readonly firstTrySuccess: number;
  readonly finalSuccess: number;
  readonly failedAttempts: number;
  readonly finalFailures: number;
  readonly refusals: number;
  readonly rateLimited: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ejections: number | null;
  /** Each backend's share of attempts (%) before the first fault (the whole run if none). */
  readonly sharesBeforeFault: Record<string, number>;
  readonly faults: readonly FaultFigures[];
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** How long a backend may go without calls by chance: 1 s, or 3 of its expected inter-arrival times. */
function quietWindowMs(scenario: Scenario, peers: number): number {
  return Math.max(1000, (3 * peers * 1000) / scenario.client.rate);
}

function ejection(attempts: readonly Attempt[], fault: Fault, endMs: number, quietMs: number): number | null {
  const times = attempts.filter((a) => a.businessId === fault.businessId).map((a) => a.atMs);
  for (let t = fault.startS * 1000; t + quietMs <= endMs; t += 100) {
    if (!times.some((x) => x >= t && x < t + quietMs)) return t;
  }
  return null;
}

function recovery(attempts: readonly Attempt[], fault: Fault, scenario: Scenario, peers: number): number | null {
  if (fault.endS === undefined) return null;
  const share = (from: number, to: number): number => {
    const inside = attempts.filter((a) => a.atMs >= from && a.atMs < to);
    return inside.length ? inside.filter((a) => a.businessId === fault.businessId).length / inside.length : 0;
  };
  // Share before the fault, or the fair share if the fault starts at once.
  const before = fault.startS >= 5 ? share(0, fault.startS * 1000) : 1 / peers;
  const windowMs = Math.max(5000, (60 * 1000) / scenario.client.rate);
  for (let t = fault.endS * 1000; t + windowMs <= scenario.durationS * 1000; t += 500) {
    if (share(t, t + windowMs) >= 0.8 * before) return round((t - fault.endS * 1000) / 1000);
  }
  return null;
}

function faultFigures(scenario: Scenario, attempts: readonly Attempt[], fault: Fault): FaultFigures {
  const start = fault.startS * 1000;
  const end = (fault.endS ?? scenario.durationS) * 1000;
  const mine = attempts.filter((a) => a.businessId === fault.businessId);
  const failed = (from: number, to: number): number =>
    mine.filter((a) => a.outcome !== 'ok' && a.atMs >= from && a.atMs < to).length;
  const backend = scenario.backends.find((b) => b.businessId === fault.businessId);
  const peers = scenario.backends.filter((b) => b.apiIdentifier === backend?.apiIdentifier).length;
  const ejectAt = ejection(attempts, fault, end, quietWindowMs(scenario, peers));
  return {
    label: fault.label,
    businessId: fault.businessId,
    failedDuringFault: failed(start, end),
    failedFirst5s: failed(start, start + 5000),
    rateLimitedDuringFault: mine.filter((a) => a.outcome === 'rate-limited' && a.atMs >= start && a.atMs < end).length,
    ejectAfterS: ejectAt === null ? null : round((ejectAt - start) / 1000),
    failedBeforeEject: ejectAt === null ? null : failed(start, ejectAt),
    recoveryS: recovery(attempts, fault, scenario, peers),
  };
}

function shares(scenario: Scenario, attempts: readonly Attempt[]): Record<string, number> {
  const firstFault = Math.min(scenario.durationS, ...scenario.faults.map((f) => f.startS)) * 1000;
  const before = attempts.filter((a) => a.atMs < firstFault);
  return Object.fromEntries(
    scenario.backends.map((b) => [
      b.businessId,
      round((100 * before.filter((a) => a.businessId === b.businessId).length) / Math.max(1, before.length)),
    ]),
  );
}

export function policyFigures(
  scenario: Scenario,
  calls: readonly CallRecord[],
  ejections: number | undefined,
): PolicyFigures {
  const attempts = calls.flatMap((c) => c.attempts);
  const ok = (a: Attempt | undefined): boolean => a?.outcome === 'ok';
  const latencies = calls
    .filter((c) => c.attempts.length > 0)
    .map((c) => c.attempts.reduce((sum, a) => sum + a.durationMs, 0))
    .sort((a, b) => a - b);
  const finalOk = calls.filter((c) => ok(c.attempts.at(-1))).length;
  return {
    calls: calls.length,
    attempts: attempts.length,
    firstTrySuccess: round((100 * calls.filter((c) => ok(c.attempts[0])).length) / Math.max(1, calls.length), 2),
    finalSuccess: round((100 * finalOk) / Math.max(1, calls.length), 2),
    failedAttempts: attempts.filter((a) => !ok(a)).length,
    finalFailures: calls.length - finalOk,
    refusals: calls.reduce((sum, c) => sum + c.refusals, 0),
    rateLimited: attempts.filter((a) => a.outcome === 'rate-limited').length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ejections: ejections ?? null,
    sharesBeforeFault: shares(scenario, attempts),
    faults: scenario.faults.map((f) => faultFigures(scenario, attempts, f)),
  };
}

export interface ScenarioFigures {
  readonly name: string;
  readonly description: string;
  readonly target?: string;
  readonly durationS: number;
  readonly rate: number;
  readonly wallS: number;
  readonly policies: Record<PolicyName, PolicyFigures>;
  readonly gatewaySelectErrors: Record<string, number>;
  /** The gateway's SDK clients: calls, attempts, and their reports sent, counted, duplicated, lost. */
  readonly gatewaySdk: SdkFigures;
  readonly finalBreakers: Record<string, string>;
  /** The gateway's breaker transitions during the run, oldest first (seconds from its start). */
  readonly breakerTransitions: readonly BreakerTransitionRecord[];
  /** On several nodes: ms until every other node served the instances registered on the first. */
  readonly propagationMs?: number;
}

export function scenarioFigures(run: ScenarioRun): ScenarioFigures {
  const { scenario } = run;
  const policies = Object.fromEntries(
    POLICIES.map((p) => [p, policyFigures(scenario, run.calls[p], run.ejections[p])]),
  ) as Record<PolicyName, PolicyFigures>;
  return {
    name: scenario.name,
    description: scenario.description,
    target: scenario.target,
    durationS: scenario.durationS,
    rate: scenario.client.rate,
    wallS: run.wallS,
    policies,
    gatewaySelectErrors: run.gatewaySelectErrors,
    gatewaySdk: run.gatewaySdk,
    finalBreakers: run.finalBreakers,
    breakerTransitions: run.breakerTransitions,
    ...(run.propagationMs === undefined ? {} : { propagationMs: run.propagationMs }),
  };
}

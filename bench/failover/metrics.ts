/**
 * The figures of one scenario run, per policy: success ratios, failed attempts, ejection and
 * recovery times, each instance's share against its fair share; and the figure the scenario ranks
 * the policies by.
 */
import { behaviourAt } from './backend';
import type { ScenarioRun } from './driver';
import type { BreakerTransitionRecord, SdkFigures } from './gateway-policy';
import {
  type Attempt,
  type CallRecord,
  type Fault,
  type MainFigureKind,
  POLICIES,
  type PolicyName,
  type Scenario,
} from './types';

export interface FaultFigures {
  readonly label: string;
  readonly businessId: string;
  readonly startS: number;
  /** Absent: the fault lasts to the end of the run. */
  readonly endS?: number;
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
  /**
   * Each backend's share of attempts (%) over the span the shares are judged on: before the first
   * fault (the whole run if none, or with `shareWindow: 'whole-run'`).
   */
  readonly sharesBeforeFault: Record<string, number>;
  /** The same per full minute of that span (the span as one window when it holds none). */
  readonly shareWindows: readonly ShareWindow[];
  /** The largest |share − fair share| over backends and windows, points; null without a span. */
  readonly shareGapPts: number | null;
  readonly faults: readonly FaultFigures[];
}

export interface ShareWindow {
  readonly fromS: number;
  readonly toS: number;
  readonly shares: Record<string, number>;
}

/** The charts' share series: per policy and backend, its share of each bucket's attempts (%). */
export interface ShareSeries {
  readonly bucketS: number;
  readonly byPolicy: Record<string, Record<string, readonly number[]>>;
}

/** The figure the scenario ranks the policies by (lower is better) and who is best at it. */
export interface MainFigure {
  readonly kind: MainFigureKind;
  readonly label: string;
  /** null: the policy has no such figure (no notion of ejection, no share span). */
  readonly values: Record<string, number | null>;
  /** The best non-oracle policies (several on a tie). */
  readonly best: readonly string[];
}

const SHARE_BUCKET_S = 5;
const MINUTE_S = 60;

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
    startS: fault.startS,
    ...(fault.endS === undefined ? {} : { endS: fault.endS }),
    failedDuringFault: failed(start, end),
    failedFirst5s: failed(start, start + 5000),
    rateLimitedDuringFault: mine.filter((a) => a.outcome === 'rate-limited' && a.atMs >= start && a.atMs < end).length,
    ejectAfterS: ejectAt === null ? null : round((ejectAt - start) / 1000),
    failedBeforeEject: ejectAt === null ? null : failed(start, ejectAt),
    recoveryS: recovery(attempts, fault, scenario, peers),
  };
}

/** Each backend's share (%, unrounded) of the attempts made in [fromMs, toMs); 0 for all when there are none. */
function exactSharesIn(
  scenario: Scenario,
  attempts: readonly Attempt[],
  fromMs: number,
  toMs: number,
): Record<string, number> {
  const inside = attempts.filter((a) => a.atMs >= fromMs && a.atMs < toMs);
  return Object.fromEntries(
    scenario.backends.map((b) => [
      b.businessId,
      (100 * inside.filter((a) => a.businessId === b.businessId).length) / Math.max(1, inside.length),
    ]),
  );
}

const rounded = (shares: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(shares).map(([id, share]) => [id, round(share)]));

const sharesIn = (...args: Parameters<typeof exactSharesIn>): Record<string, number> => rounded(exactSharesIn(...args));

/** The span the shares are judged on, seconds: the fault-free part, or the whole run. */
export function shareSpanS(scenario: Scenario): number {
  if (scenario.shareWindow === 'whole-run') return scenario.durationS;
  return Math.min(scenario.durationS, ...scenario.faults.map((f) => f.startS));
}

/**
 * Weight-proportional shares (%) over the primary identifier's best tier (highest priority):
 * what a fair policy gives each backend while all are healthy; 0 for the others.
 */
export function fairShares(scenario: Scenario): Record<string, number> {
  return rounded(exactFairShares(scenario));
}

function exactFairShares(scenario: Scenario): Record<string, number> {
  const priority = (b: Scenario['backends'][number]): number => Number(b.routingParams?.priority ?? 0);
  const weight = (b: Scenario['backends'][number]): number => Number(b.routingParams?.weight ?? 1);
  const primary = scenario.backends.filter((b) => b.apiIdentifier === scenario.primary);
  const top = Math.max(...primary.map(priority));
  const tier = primary.filter((b) => priority(b) === top);
  const total = tier.reduce((sum, b) => sum + weight(b), 0);
  return Object.fromEntries(
    scenario.backends.map((b) => [b.businessId, tier.includes(b) && total > 0 ? (100 * weight(b)) / total : 0]),
  );
}

/** The full minutes of the share span, or the span as one window when it is shorter than a minute. */
function shareWindows(scenario: Scenario, attempts: readonly Attempt[]): ShareWindow[] {
  const spanS = shareSpanS(scenario);
  if (spanS <= 0) return [];
  const minutes = Math.floor(spanS / MINUTE_S);
  const bounds =
    minutes > 0 ? Array.from({ length: minutes }, (_, m) => [m * MINUTE_S, (m + 1) * MINUTE_S]) : [[0, spanS]];
  return bounds.map(([fromS, toS]) => ({ fromS, toS, shares: sharesIn(scenario, attempts, fromS * 1000, toS * 1000) }));
}

/** The largest |share − fair| over backends and windows, from the exact shares (not the rounded ones shown). */
function shareGap(scenario: Scenario, attempts: readonly Attempt[], windows: readonly ShareWindow[]): number | null {
  if (windows.length === 0) return null;
  const fair = exactFairShares(scenario);
  const gaps = windows.flatMap((w) => {
    const shares = exactSharesIn(scenario, attempts, w.fromS * 1000, w.toS * 1000);
    return Object.entries(fair).map(([id, f]) => Math.abs(shares[id] - f));
  });
  return round(Math.max(...gaps));
}

/** Each backend's share of every SHARE_BUCKET_S bucket of the run (all 0 in a bucket without attempts). */
function shareSeries(scenario: Scenario, attempts: readonly Attempt[]): Record<string, number[]> {
  const buckets = Math.ceil(scenario.durationS / SHARE_BUCKET_S);
  const series = Object.fromEntries(scenario.backends.map((b) => [b.businessId, [] as number[]]));
  for (let k = 0; k < buckets; k++) {
    const shares = sharesIn(scenario, attempts, k * SHARE_BUCKET_S * 1000, (k + 1) * SHARE_BUCKET_S * 1000);
    for (const [id, share] of Object.entries(shares)) series[id].push(share);
  }
  return series;
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
  const windows = shareWindows(scenario, attempts);
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
    sharesBeforeFault: sharesIn(scenario, attempts, 0, shareSpanS(scenario) * 1000),
    shareWindows: windows,
    shareGapPts: shareGap(scenario, attempts, windows),
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
  /** Weight-proportional share (%) of each backend while all are healthy. */
  readonly fairShares: Record<string, number>;
  readonly shareSeries: ShareSeries;
  readonly main: MainFigure;
  readonly gatewaySelectErrors: Record<string, number>;
  /** The gateway's SDK clients: calls, attempts, and their reports sent, counted, duplicated, lost. */
  readonly gatewaySdk: SdkFigures;
  readonly finalBreakers: Record<string, string>;
  /** The gateway's breaker transitions during the run, oldest first (seconds from its start). */
  readonly breakerTransitions: readonly BreakerTransitionRecord[];
  /** On several nodes: ms until every other node served the instances registered on the first. */
  readonly propagationMs?: number;
  /**
   * The longest wait, ms, between a call's scheduled arrival and its first backend attempt through
   * the gateway: the driver firing late plus the select. A few ms on a machine that keeps up; far
   * more when the driver or the gateway process stalled, and the calls due meanwhile then leave
   * together, before any report of theirs is in.
   */
  readonly gatewayStartDelayMaxMs: number;
  /**
   * Attempts, by any policy, that timed out on a backend whose script answers in a tenth of the
   * client's timeout or less (and was not down): its answer was due and never came, so the machine
   * stalled. 0 on a machine that keeps up.
   */
  readonly stallTimeouts: number;
}

/** See {@link ScenarioFigures.stallTimeouts}. */
function stallTimeoutsOf(scenario: Scenario, calls: Readonly<Record<string, readonly CallRecord[]>>): number {
  const fast = scenario.client.timeoutMs / 10;
  let count = 0;
  for (const records of Object.values(calls)) {
    for (const call of records) {
      for (const attempt of call.attempts) {
        if (attempt.outcome !== 'timeout') continue;
        const spec = scenario.backends.find((b) => b.businessId === attempt.businessId);
        if (!spec) continue;
        const b = behaviourAt(spec, attempt.atMs / 1000);
        if (!b.down && (b.latencyMs ?? 0) <= fast && (b.firstByteMs ?? 0) <= fast) count++;
      }
    }
  }
  return count;
}

/** See {@link ScenarioFigures.gatewayStartDelayMaxMs}. */
function startDelayMaxMs(calls: readonly CallRecord[]): number {
  let max = 0;
  for (const call of calls) {
    const first = call.attempts[0];
    if (first !== undefined) max = Math.max(max, first.atMs - call.atMs);
  }
  return Math.round(max);
}

/**
 * The scenario's own figure, else: p99 latency when every fault only slows its backend down,
 * failed attempts during the faults (plus tries turned away) when there are faults, trips when there are none.
 */
export function mainFigureKind(scenario: Scenario): MainFigureKind {
  if (scenario.mainFigure) return scenario.mainFigure;
  if (scenario.faults.length === 0) return 'ejections';
  const slowOnly = scenario.faults.every((f) => {
    const spec = scenario.backends.find((b) => b.businessId === f.businessId);
    const b = spec ? behaviourAt(spec, f.startS) : {};
    return (
      !b.down && !b.errorRate && !b.clientErrorRate && !b.rateLimited && (b.latencyMs ?? b.firstByteMs) !== undefined
    );
  });
  return slowOnly ? 'p99' : 'failed-during-faults';
}

const MAIN_LABELS: Record<MainFigureKind, string> = {
  'failed-during-faults': 'failed attempts during the faults + tries turned away',
  'share-gap': 'largest share gap over a minute, pts',
  p99: 'p99 call latency, ms',
  ejections: 'ejections (trips)',
};

function mainFigure(scenario: Scenario, policies: Partial<Record<PolicyName, PolicyFigures>>): MainFigure {
  const kind = mainFigureKind(scenario);
  const value = (p: PolicyFigures): number | null => {
    switch (kind) {
      case 'failed-during-faults':
        // A call turned away without a backend attempt (every breaker open, nothing in the chain)
        // failed too: without it, a policy that drops calls would rank best.
        return p.faults.reduce((sum, f) => sum + f.failedDuringFault, 0) + p.refusals;
      case 'share-gap':
        return p.shareGapPts;
      case 'p99':
        return p.p99Ms;
      case 'ejections':
        return p.ejections;
    }
  };
  const values = Object.fromEntries(Object.entries(policies).map(([name, p]) => [name, value(p)]));
  const ranked = Object.entries(values).filter(
    (e): e is [string, number] => e[0] !== 'oracle' && e[1] !== null && Number.isFinite(e[1]),
  );
  const lowest = Math.min(...ranked.map(([, v]) => v));
  return { kind, label: MAIN_LABELS[kind], values, best: ranked.filter(([, v]) => v === lowest).map(([name]) => name) };
}

export function scenarioFigures(run: ScenarioRun): ScenarioFigures {
  const { scenario } = run;
  // The policies the run had (all of POLICIES once every baseline is in the driver), in that order.
  const names = POLICIES.filter((p) => run.calls[p] !== undefined);
  const policies = Object.fromEntries(
    names.map((p) => [p, policyFigures(scenario, run.calls[p], run.ejections[p])]),
  ) as Record<PolicyName, PolicyFigures>;
  return {
    name: scenario.name,
    description: scenario.description,
    target: scenario.target,
    durationS: scenario.durationS,
    rate: scenario.client.rate,
    wallS: run.wallS,
    policies,
    fairShares: fairShares(scenario),
    shareSeries: {
      bucketS: SHARE_BUCKET_S,
      byPolicy: Object.fromEntries(
        names.map((p) => [
          p,
          shareSeries(
            scenario,
            run.calls[p].flatMap((c) => c.attempts),
          ),
        ]),
      ),
    },
    main: mainFigure(scenario, policies),
    gatewaySelectErrors: run.gatewaySelectErrors,
    gatewaySdk: run.gatewaySdk,
    finalBreakers: run.finalBreakers,
    breakerTransitions: run.breakerTransitions,
    ...(run.propagationMs === undefined ? {} : { propagationMs: run.propagationMs }),
    gatewayStartDelayMaxMs: startDelayMaxMs(run.calls.gateway),
    stallTimeouts: stallTimeoutsOf(scenario, run.calls),
  };
}

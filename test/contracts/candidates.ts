import { mulberry32 } from '../utils/mulberry32';
import { FakeClock } from '../../src/common/clock';
import type { InstanceStatsView } from '../../src/statistics/instance-stats-view';
import type { InstanceRecord } from '../../src/registry/instance-record';
import { readRoutingParams } from '../../src/registry/routing-params';
import type { Candidate, SelectionContext } from '../../src/selection/selection-strategy';

/**
 * Builders for strategy tests: candidates with chosen stats and routing params, contexts with a
 * seeded random. Plain objects throughout, so any strategy can be tested without the gateway.
 */

export { mulberry32 };

export interface CandidateSpec {
  /** Becomes the instance id (padded) and businessId, to tell candidates apart in failures. */
  readonly id?: string;
  readonly stats?: Partial<InstanceStatsView>;
  /** Raw `routingParams`, read through the gateway's own `readRoutingParams` (aliases resolved). */
  readonly routingParams?: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, unknown>> | null;
}

/** What a healthy instance never reported looks like (see InstanceStatsView). */
export const UNSEEN_STATS: InstanceStatsView = {
  calls: 0,
  successes: 0,
  failures: 0,
  latencyMs: 1000,
  ttftMs: undefined,
  openLeases: 0,
  slowStartFactor: 1,
  lastReportAt: undefined,
  unansweredMs: 0,
};

const EPOCH = new Date(Date.UTC(2026, 0, 1));
let counter = 0;

export function candidate(spec: CandidateSpec = {}): Candidate {
  const id = spec.id ?? `c${++counter}`;
  const routingParams = spec.routingParams ?? {};
  const instance: InstanceRecord = {
    id: id.padStart(32, '0').slice(-32),
    projectId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    userId: null,
    apiIdentifier: 'gpt-4o',
    apiType: 'MODEL',
    businessId: id,
    routingParams,
    metadata: spec.metadata ?? null,
    endpoint: null,
    status: 'ACTIVE',
    createdAt: EPOCH,
    updatedAt: EPOCH,
  };
  return { instance, params: readRoutingParams(routingParams), stats: { ...UNSEEN_STATS, ...spec.stats } };
}

/** `count` candidates `id0…`, each built from `spec(i)`. */
export function candidates(count: number, spec: (i: number) => CandidateSpec = () => ({})): Candidate[] {
  return Array.from({ length: count }, (_, i) => candidate({ id: `id${i}`, ...spec(i) }));
}

/** Stats an instance with `calls` calls of which `failures` failed, at `latencyMs`. */
export function observed(calls: number, failures: number, latencyMs: number): Partial<InstanceStatsView> {
  return { calls, successes: calls - failures, failures, latencyMs, lastReportAt: EPOCH.getTime() };
}

export interface ContextSpec {
  readonly setKey?: string;
  readonly random?: () => number;
  readonly clock?: FakeClock;
  readonly identifier?: string;
}

export function context(spec: ContextSpec = {}): SelectionContext {
  const identifier = spec.identifier ?? 'gpt-4o';
  return {
    projectId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    apiType: 'MODEL',
    identifier,
    setKey: spec.setKey ?? `a1b2c3d4e5f60718293a4b5c6d7e8f90|MODEL|${identifier}|0`,
    now: (spec.clock ?? new FakeClock()).now(),
    random: spec.random ?? mulberry32(1),
  };
}

/** How many times each candidate (by identity) was picked in `picks` calls of `pick`. */
export function tally(list: readonly Candidate[], picks: number, pick: () => Candidate): number[] {
  const counts = new Array<number>(list.length).fill(0);
  for (let i = 0; i < picks; i++) {
    const at = list.indexOf(pick());
    if (at < 0) throw new Error('picked an object that is not one of the candidates');
    counts[at]++;
  }
  return counts;
}

/** Freezes a candidate and everything it holds, so a strategy that writes to it throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

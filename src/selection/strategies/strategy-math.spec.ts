import { candidate } from '../../../test/contracts/candidates';
import {
  MAX_LATENCY_MS,
  MAX_WEIGHT,
  costOf,
  ensureCapacity,
  latencyOf,
  openLeasesOf,
  pickBest,
  pickWeighted,
  randomIndex,
  slowStartOf,
  successRateOf,
  weightOf,
} from './strategy-math';

/** A generator that returns the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe('strategy math: sanitised reads', () => {
  it('latency: kept in [0, MAX_LATENCY_MS); negative, NaN, infinite or at the cap counts as the slowest', () => {
    const latency = (latencyMs: number) => latencyOf(candidate({ stats: { latencyMs } }));
    expect(latency(0)).toBe(0);
    expect(latency(250)).toBe(250);
    expect(latency(MAX_LATENCY_MS - 1)).toBe(MAX_LATENCY_MS - 1);
    for (const bad of [-1, NaN, Infinity, MAX_LATENCY_MS, MAX_LATENCY_MS + 1])
      expect(latency(bad)).toBe(MAX_LATENCY_MS);
  });

  it('success rate: Laplace-smoothed, corrupt counts read as zero', () => {
    const rate = (successes: number, failures: number) => successRateOf(candidate({ stats: { successes, failures } }));
    expect(rate(0, 0)).toBe(0.5);
    expect(rate(8, 0)).toBe(0.9);
    expect(rate(0, 8)).toBe(0.1);
    expect(rate(-5, NaN)).toBe(0.5);
    expect(rate(Infinity, 0)).toBeCloseTo(1, 10);
  });

  it('open leases: non-negative, capped at the largest safe integer', () => {
    const open = (openLeases: number) => openLeasesOf(candidate({ stats: { openLeases } }));
    expect([open(0), open(3), open(-2), open(NaN)]).toEqual([0, 3, 0, 0]);
    expect(open(Number.MAX_SAFE_INTEGER - 1)).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(open(Infinity)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('slow start: in [0, 1]; unreadable counts as settled', () => {
    const ramp = (slowStartFactor: number) => slowStartOf(candidate({ stats: { slowStartFactor } }));
    expect([ramp(0), ramp(0.25), ramp(1), ramp(1.5), ramp(-0.1), ramp(NaN)]).toEqual([0, 0.25, 1, 1, 1, 1]);
  });

  it('cost: costPerUnit when set and not negative (0 included), else the most expensive', () => {
    const cost = (costPerUnit?: number) =>
      costOf(candidate({ routingParams: costPerUnit === undefined ? {} : { costPerUnit } }));
    expect([cost(0), cost(0.002)]).toEqual([0, 0.002]);
    expect([cost(undefined), cost(-1)]).toEqual([Infinity, Infinity]);
  });

  it('weight: 1 when unset, 0 when negative or unreadable, capped at MAX_WEIGHT', () => {
    const weight = (w?: number) => weightOf(candidate({ routingParams: w === undefined ? {} : { weight: w } }));
    expect([weight(undefined), weight(0), weight(3), weight(MAX_WEIGHT)]).toEqual([1, 0, 3, MAX_WEIGHT]);
    expect([weight(-1), weight(MAX_WEIGHT * 10)]).toEqual([0, MAX_WEIGHT]);
  });
});

describe('strategy math: choosing', () => {
  it('randomIndex: floor(random × n), clamped into [0, n) for a generator that returns 1 or less than 0', () => {
    expect(randomIndex(() => 0, 4)).toBe(0);
    expect(randomIndex(() => 0.999, 4)).toBe(3);
    expect(randomIndex(() => 0.5, 4)).toBe(2);
    expect(randomIndex(() => 1, 4)).toBe(3);
    expect(randomIndex(() => -0.5, 4)).toBe(3);
  });

  it('pickBest: the single best without drawing; among ties the drawn one', () => {
    const [a, b, c, d] = [1, 2, 2, 3].map((latencyMs) => candidate({ stats: { latencyMs } }));
    const byLatency = (x: typeof a, y: typeof a) => x.stats.latencyMs - y.stats.latencyMs;
    const never = () => {
      throw new Error('no draw expected');
    };
    expect(pickBest([d, b, a, c], byLatency, never)).toBe(a);
    expect(pickBest([a], byLatency, never)).toBe(a);
    // b and c tie: random 0 → the first of them in list order, 0.75 → the second.
    expect(pickBest([d, b, c], byLatency, () => 0)).toBe(b);
    expect(pickBest([d, b, c], byLatency, () => 0.75)).toBe(c);
    expect(pickBest([b, c, d], byLatency, () => 0.75)).toBe(c);
  });

  it('pickWeighted: proportional to the weights over the first n, skipping zero weights; uniform when all are 0', () => {
    const cs = [0, 1, 2, 3].map(() => candidate());
    const weights = new Float64Array([1, 0, 3, 99]); // the 4th is past `candidates`
    const three = cs.slice(0, 3);
    expect(pickWeighted(three, weights, 4, () => 0)).toBe(cs[0]);
    expect(pickWeighted(three, weights, 4, () => 0.2499)).toBe(cs[0]);
    expect(pickWeighted(three, weights, 4, () => 0.25)).toBe(cs[2]); // exactly at the boundary: the next one
    expect(pickWeighted(three, weights, 4, () => 0.999)).toBe(cs[2]);
    // A total larger than the weights (rounding): the rest goes to the last eligible candidate.
    expect(pickWeighted(three, new Float64Array([1, 3, 0]), 4.5, () => 0.99)).toBe(cs[1]);
    // Zero, negative or non-finite totals: uniform.
    expect(pickWeighted(three, new Float64Array(3), 0, sequence(0.5))).toBe(cs[1]);
    expect(pickWeighted(three, weights, Infinity, sequence(0.9))).toBe(cs[2]);
    expect(pickWeighted(three, weights, NaN, sequence(0))).toBe(cs[0]);
  });

  it('ensureCapacity: the same buffer while it is long enough, else one doubled from 16 until it is', () => {
    const small = new Float64Array(16);
    expect(ensureCapacity(small, 16)).toBe(small);
    expect(ensureCapacity(small, 8)).toBe(small);
    expect(ensureCapacity(small, 17).length).toBe(32);
    expect(ensureCapacity(small, 32).length).toBe(32); // a doubling that fits exactly is enough
    expect(ensureCapacity(small, 100).length).toBe(128);
    expect(ensureCapacity(new Float64Array(0), 1).length).toBe(16);
    expect(ensureCapacity(new Float64Array(0), 0).length).toBe(0);
  });
});

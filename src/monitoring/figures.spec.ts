import { MinuteBucket } from '../minute-metrics/minute-bucket';
import { readRoutingParams } from '../registry/routing-params';
import { costOfCall, figuresOf, percentileOf, rangeAt, windowAt, type FigureInputs } from './figures';
import { gatewayStatusOf } from './monitoring.service';

const counts = (entries: Record<number, number>): number[] => {
  const buckets = new Array<number>(23).fill(0);
  for (const [i, n] of Object.entries(entries)) buckets[Number(i)] = n;
  return buckets;
};

function inputs(partial: Partial<FigureInputs>): FigureInputs {
  return {
    calls: 0,
    successes: 0,
    byOutcome: { SERVER_ERROR: 0, TIMEOUT: 0, RATE_LIMITED: 0, AUTH_ERROR: 0, CLIENT_ERROR: 0, UNKNOWN: 0 },
    latencySumMs: 0,
    latencyBuckets: [],
    totalTokens: 0,
    cost: 0,
    ...partial,
  };
}

describe('figures', () => {
  it('splits calls into four shares that add up to 100; rate limits are not failures', () => {
    const figures = figuresOf(
      inputs({
        calls: 10,
        successes: 4,
        byOutcome: { SERVER_ERROR: 1, TIMEOUT: 1, RATE_LIMITED: 2, AUTH_ERROR: 1, CLIENT_ERROR: 0, UNKNOWN: 1 },
        latencySumMs: 1234,
      }),
    );
    expect(figures).toMatchObject({
      successRate: 40,
      failureRate: 30,
      rateLimitedRate: 20,
      callerErrorRate: 10,
      failures: 3,
      averageLatencyMs: 123.4,
    });
  });

  it('an instance that was only rate-limited: 0 % failures, 100 % rate limited', () => {
    const figures = figuresOf(inputs({ calls: 5, byOutcome: { ...inputs({}).byOutcome, RATE_LIMITED: 5 } }));
    expect(figures).toMatchObject({ successRate: 0, failureRate: 0, rateLimitedRate: 100, callerErrorRate: 0 });
  });

  it('without calls: rates 0, latencies null', () => {
    expect(figuresOf(inputs({}))).toMatchObject({ successRate: 0, averageLatencyMs: null, p99LatencyMs: null });
  });

  it('percentiles interpolate inside the bucket as histogram_quantile does', () => {
    // 10 calls in (100, 150]: the median is at rank 5 of 10 → 100 + 50 × 5/10.
    expect(percentileOf({ latencyBuckets: counts({ 6: 10 }) }, 0.5)).toBe(125);
    // First bucket starts at 0; the overflow bucket answers the highest bound.
    expect(percentileOf({ latencyBuckets: counts({ 0: 4 }) }, 0.5)).toBe(2.5);
    expect(percentileOf({ latencyBuckets: counts({ 0: 1, 22: 9 }) }, 0.99)).toBe(60_000);
  });
});

describe('cost', () => {
  it('is the reported cost, else costPerUnit × tokens, else nothing', () => {
    expect(costOfCall({ cost: 0.5, totalTokens: 1000 }, 0.001)).toBe(0.5);
    expect(costOfCall({ totalTokens: 1000 }, 0.001)).toBe(1);
    expect(costOfCall({ promptTokens: 300, completionTokens: 700 }, 0.002)).toBe(2);
    expect(costOfCall({ totalTokens: 1000, cost: null }, 0.001)).toBe(1);
    expect(costOfCall({ totalTokens: 1000 }, undefined)).toBeUndefined();
    expect(costOfCall({}, 0.001)).toBeUndefined();
  });

  it("reads costPerUnit or its alias with the registry's own routing-params reader", () => {
    expect(readRoutingParams({ costPerUnit: 0.1, cost_per_unit: 0.2 }).costPerUnit).toBe(0.1);
    expect(readRoutingParams({ cost_per_unit: 0.2 }).costPerUnit).toBe(0.2);
    expect(readRoutingParams({ costPerUnit: 'cheap' }).costPerUnit).toBeUndefined();
  });

  it('is priced into the minute when the report is counted', () => {
    const bucket = new MinuteBucket('p', 'i', 0);
    bucket.addReport({ outcome: 'SUCCESS', latencyMs: 10, totalTokens: 1000, receivedAt: 0 }, 0, 0.001);
    bucket.addReport({ outcome: 'SUCCESS', latencyMs: 10, totalTokens: 1000, cost: 3, receivedAt: 0 }, 0, 0.001);
    bucket.addReport({ outcome: 'SUCCESS', latencyMs: 10, receivedAt: 0 }, 0, 0.001);
    expect(bucket.values.at(-1)).toBe(4);
  });
});

describe('windows and ranges', () => {
  const now = Date.UTC(2026, 0, 1, 12, 34, 20);

  it('a window is the N whole minutes before the current one, and the current one so far', () => {
    expect(windowAt('10m', now)).toEqual({
      name: '10m',
      minutes: 10,
      from: Date.UTC(2026, 0, 1, 12, 24, 0),
      to: now + 1,
      end: now,
    });
    expect(windowAt('1m', now).from).toBe(Date.UTC(2026, 0, 1, 12, 33, 0));
  });

  it.each([
    ['1h', 1, 60],
    ['6h', 5, 72],
    ['24h', 15, 96],
    ['7d', 60, 168],
  ] as const)('%s has %i-minute points, %i of them', (range, minutes, points) => {
    const { first, last, bucketMs, bucketMinutes } = rangeAt(range, now);
    expect(bucketMinutes).toBe(minutes);
    expect((last - first) / bucketMs + 1).toBe(points);
  });
});

describe('gatewayStatusOf', () => {
  const calm = { breakerState: 'CLOSED' as const, coolingDown: false, latencyMs: 100 };

  it('an instance whose calls were all rate-limited is DEGRADED, never HEALTHY or FAULTY', () => {
    expect(gatewayStatusOf({ ...calm, calls: 50, successes: 0, failures: 0, rateLimited: 50 })).toBe('DEGRADED');
  });

  it('a few rate limits among successes stay HEALTHY', () => {
    expect(gatewayStatusOf({ ...calm, calls: 50, successes: 48, failures: 0, rateLimited: 2 })).toBe('HEALTHY');
  });

  it('backend failures make it FAULTY, an open breaker CIRCUIT_BREAKER_OPEN', () => {
    expect(gatewayStatusOf({ ...calm, calls: 10, successes: 6, failures: 4 })).toBe('FAULTY');
    expect(gatewayStatusOf({ ...calm, breakerState: 'OPEN', calls: 0, successes: 0, failures: 0 })).toBe(
      'CIRCUIT_BREAKER_OPEN',
    );
  });
});

import type { OutcomeClass } from '../common/outcome';
import {
  ADDITIVE_COLUMNS,
  LATENCY_BUCKET_COLUMNS,
  TTFT_BUCKET_COLUMNS,
} from './entities/instance-metrics-minute.schema';
import { quantile } from './histogram';
import { MinuteBucket, type MinuteReport } from './minute-bucket';

const MINUTE = Date.UTC(2026, 10, 29, 12, 0);

const bucket = () => new MinuteBucket('p'.repeat(32), 'a'.repeat(32), MINUTE);

const report = (overrides: Partial<MinuteReport> = {}): MinuteReport => ({
  outcome: 'SUCCESS',
  latencyMs: 100,
  receivedAt: MINUTE + 1000,
  ...overrides,
});

/** The value of one additive column of `instance_metrics_minute`. */
const column = (b: MinuteBucket, name: string): number => b.values[ADDITIVE_COLUMNS.indexOf(name)];

/** The columns that are not zero, by name. */
const nonZero = (b: MinuteBucket): Record<string, number> =>
  Object.fromEntries(
    ADDITIVE_COLUMNS.map((name, i): [string, number] => [name, b.values[i]]).filter(([, value]) => value !== 0),
  );

const latencyCounts = (b: MinuteBucket) => LATENCY_BUCKET_COLUMNS.map((name) => column(b, name));
const ttftCounts = (b: MinuteBucket) => TTFT_BUCKET_COLUMNS.map((name) => column(b, name));

describe('MinuteBucket', () => {
  describe('outcomes', () => {
    it.each<[OutcomeClass, string, boolean]>([
      ['SUCCESS', 'successes', false],
      ['SERVER_ERROR', 'server_errors', true],
      ['TIMEOUT', 'timeouts', true],
      ['UNKNOWN', 'unknown_errors', true],
      ['RATE_LIMITED', 'rate_limited', false],
      ['AUTH_ERROR', 'auth_errors', false],
      ['CLIENT_ERROR', 'client_errors', false],
    ])('%s counts as a call in %s (a backend failure: %s)', (outcome, outcomeColumn, failure) => {
      const b = bucket();
      b.addReport(report({ outcome }), 0);
      expect(b.calls).toBe(1);
      expect(column(b, outcomeColumn)).toBe(1);
      expect(column(b, 'failures')).toBe(failure ? 1 : 0);
    });
  });

  describe('latency histogram', () => {
    it('counts a latency in the bucket whose bound is the first one at or above it', () => {
      const b = bucket();
      b.addReport(report({ latencyMs: 100 }), 0);
      b.addReport(report({ latencyMs: 101 }), 0);
      b.addReport(report({ latencyMs: 100 }), 0);
      expect(column(b, 'lat_b05')).toBe(2); // bound 100 ms
      expect(column(b, 'lat_b06')).toBe(1); // bound 150 ms
      expect(latencyCounts(b).reduce((sum, count) => sum + count, 0)).toBe(3);
    });

    it('sums the latencies and keeps the largest, whatever the order', () => {
      const b = bucket();
      b.addReport(report({ latencyMs: 300 }), 0);
      b.addReport(report({ latencyMs: 20 }), 0);
      expect(column(b, 'latency_sum_ms')).toBe(320);
      expect(b.latencyMaxMs).toBe(300);
    });

    it('gives percentiles within one bucket of the exact value', () => {
      const b = bucket();
      for (let i = 0; i < 99; i++) b.addReport(report({ latencyMs: 40 }), 0);
      b.addReport(report({ latencyMs: 2500 }), 0);
      expect(quantile(latencyCounts(b), 0.5)).toBeGreaterThan(25);
      expect(quantile(latencyCounts(b), 0.5)).toBeLessThanOrEqual(50);
      expect(quantile(latencyCounts(b), 1)).toBe(3000);
    });

    it('counts a negative or non-finite latency as 0 ms', () => {
      const b = bucket();
      b.addReport(report({ latencyMs: -50 }), 0);
      b.addReport(report({ latencyMs: Number.NaN }), 0);
      expect(column(b, 'latency_sum_ms')).toBe(0);
      expect(column(b, 'lat_b00')).toBe(2);
      expect(b.latencyMaxMs).toBe(0);
    });
  });

  describe('time to first token', () => {
    it('counts, sums and buckets the time to first token of the reports that have one', () => {
      const b = bucket();
      b.addReport(report({ ttftMs: 100 }), 0);
      b.addReport(report({ ttftMs: 40 }), 0);
      b.addReport(report(), 0);
      expect(column(b, 'ttft_count')).toBe(2);
      expect(column(b, 'ttft_sum_ms')).toBe(140);
      expect(column(b, 'ttft_b05')).toBe(1); // bound 100 ms
      expect(column(b, 'ttft_b03')).toBe(1); // bound 50 ms
      expect(ttftCounts(b).reduce((sum, count) => sum + count, 0)).toBe(2);
    });

    it('counts a first token at 0 ms, but not a negative or non-finite one', () => {
      const b = bucket();
      b.addReport(report({ ttftMs: 0 }), 0);
      b.addReport(report({ ttftMs: -1 }), 0);
      b.addReport(report({ ttftMs: Number.POSITIVE_INFINITY }), 0);
      expect(column(b, 'ttft_count')).toBe(1);
      expect(column(b, 'ttft_b00')).toBe(1);
      expect(column(b, 'ttft_sum_ms')).toBe(0);
    });

    it('leaves the latency histogram to the latency', () => {
      const b = bucket();
      b.addReport(report({ latencyMs: 2000, ttftMs: 100 }), 0);
      expect(latencyCounts(b)).toEqual(LATENCY_BUCKET_COLUMNS.map((name) => (name === 'lat_b14' ? 1 : 0)));
    });
  });

  describe('tokens and cost', () => {
    it('sums prompt, completion and total tokens and the cost', () => {
      const b = bucket();
      b.addReport(report({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cost: 0.25 }), 0);
      b.addReport(report({ promptTokens: 2, completionTokens: 3, totalTokens: 5, cost: 0.5 }), 0);
      expect(column(b, 'prompt_tokens')).toBe(12);
      expect(column(b, 'completion_tokens')).toBe(8);
      expect(column(b, 'total_tokens')).toBe(20);
      expect(column(b, 'cost')).toBe(0.75);
    });

    it('counts negative, non-finite and missing amounts as nothing', () => {
      const b = bucket();
      b.addReport(report({ promptTokens: -10, completionTokens: Number.NaN, totalTokens: Infinity, cost: -1 }), 0);
      b.addReport(report(), 0);
      expect(column(b, 'prompt_tokens')).toBe(0);
      expect(column(b, 'completion_tokens')).toBe(0);
      expect(column(b, 'total_tokens')).toBe(0);
      expect(column(b, 'cost')).toBe(0);
    });
  });

  describe('open leases and the time of the last report', () => {
    it('keeps the most leases open seen at a selection', () => {
      const b = bucket();
      b.addSelection(3);
      b.addSelection(1);
      expect(b.selections).toBe(2);
      expect(b.maxOpenLeases).toBe(3);
    });

    it('keeps the most leases open seen at a report', () => {
      const b = bucket();
      b.addReport(report(), 4);
      b.addReport(report(), 2);
      expect(b.maxOpenLeases).toBe(4);
    });

    it('keeps the latest arrival even when reports are processed out of order', () => {
      const b = bucket();
      b.addReport(report({ receivedAt: MINUTE + 5000 }), 0);
      b.addReport(report({ receivedAt: MINUTE + 2000 }), 0);
      expect(b.lastReportAt).toBe(MINUTE + 5000);
    });
  });

  describe('merging two aggregates of the same minute', () => {
    const busy = () => {
      const b = bucket();
      b.addSelection(2);
      b.addReport(
        report({
          outcome: 'TIMEOUT',
          latencyMs: 700,
          ttftMs: 30,
          promptTokens: 7,
          cost: 0.1,
          receivedAt: MINUTE + 9000,
        }),
        5,
      );
      return b;
    };

    it('adds up every additive column, as the upsert does', () => {
      const a = busy();
      a.merge(busy());
      expect(nonZero(a)).toEqual({
        selections: 2,
        calls: 2,
        failures: 2,
        timeouts: 2,
        latency_sum_ms: 1400,
        lat_b11: 2,
        ttft_count: 2,
        ttft_sum_ms: 60,
        ttft_b03: 2,
        prompt_tokens: 14,
        cost: 0.2,
      });
    });

    it('keeps the larger maximum latency and open leases, whichever side has them', () => {
      const quiet = bucket();
      quiet.addReport(report({ latencyMs: 10 }), 1);
      quiet.merge(busy());
      expect(quiet).toMatchObject({ latencyMaxMs: 700, maxOpenLeases: 5 });
      const loud = busy();
      loud.merge(quiet);
      expect(loud).toMatchObject({ latencyMaxMs: 700, maxOpenLeases: 5 });
    });

    it('keeps the latest report time, and keeps it when the other has no report', () => {
      const earlier = bucket();
      earlier.addReport(report({ receivedAt: MINUTE + 1000 }), 0);
      const later = busy();
      later.merge(earlier);
      expect(later.lastReportAt).toBe(MINUTE + 9000);
      earlier.merge(busy());
      expect(earlier.lastReportAt).toBe(MINUTE + 9000);
      const selectionsOnly = bucket();
      selectionsOnly.addSelection(0);
      later.merge(selectionsOnly);
      expect(later.lastReportAt).toBe(MINUTE + 9000);
    });

    it('takes the breaker state of the newer aggregate, and keeps its own when the other has none', () => {
      const held = bucket();
      held.breakerState = 'OPEN';
      held.merge(bucket());
      expect(held.breakerState).toBe('OPEN');
      const fresh = bucket();
      fresh.breakerState = 'CLOSED';
      held.merge(fresh);
      expect(held.breakerState).toBe('CLOSED');
    });
  });
});

import type { OutcomeClass } from '../common/outcome';
import {
  ADDITIVE_COLUMNS,
  ADDITIVE_COLUMN_MAX,
  INTEGER_COLUMN_MAX,
  LATENCY_BUCKET_COLUMNS,
  REAL_COLUMN_MAX,
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
        total_tokens: 14, // totalTokens not reported: prompt + completion (docs/figures.md)
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

  describe('bounds: every value finite and within its column, whatever is reported', () => {
    const realColumns = ['latency_sum_ms', 'ttft_sum_ms', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost'];
    const HUGE = 1.7e308; // two of these summed to Infinity, which the MySQL upsert refused

    it('knows the maximum of each column: 2^53 - 1 for the doubles, MySQL INT for the integers', () => {
      expect(REAL_COLUMN_MAX).toBe(Number.MAX_SAFE_INTEGER);
      expect(INTEGER_COLUMN_MAX).toBe(2 ** 31 - 1);
      ADDITIVE_COLUMNS.forEach((name, i) =>
        expect([name, ADDITIVE_COLUMN_MAX[i]]).toEqual([
          name,
          realColumns.includes(name) ? REAL_COLUMN_MAX : INTEGER_COLUMN_MAX,
        ]),
      );
    });

    it('stops a sum of huge amounts at the column maximum instead of Infinity', () => {
      const b = bucket();
      for (let i = 0; i < 2; i++) {
        b.addReport(report({ promptTokens: HUGE, completionTokens: HUGE, totalTokens: HUGE, cost: HUGE }), 0);
      }
      for (const name of ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cost']) {
        expect([name, column(b, name)]).toEqual([name, REAL_COLUMN_MAX]);
      }
      expect(b.values.every((value) => Number.isFinite(value))).toBe(true);
    });

    it('takes one amount beyond the maximum as the maximum, and one below it as it is', () => {
      const b = bucket();
      b.addReport(report({ cost: REAL_COLUMN_MAX + 2 ** 20, totalTokens: REAL_COLUMN_MAX - 1 }), 0);
      expect(column(b, 'cost')).toBe(REAL_COLUMN_MAX);
      expect(column(b, 'total_tokens')).toBe(REAL_COLUMN_MAX - 1);
    });

    it('stops a huge latency or time to first token at the maximum, in the sums and the largest latency', () => {
      const b = bucket();
      b.addReport(report({ latencyMs: HUGE, ttftMs: HUGE }), 0);
      b.addReport(report({ latencyMs: HUGE, ttftMs: HUGE }), 0);
      expect(column(b, 'latency_sum_ms')).toBe(REAL_COLUMN_MAX);
      expect(column(b, 'ttft_sum_ms')).toBe(REAL_COLUMN_MAX);
      expect(b.latencyMaxMs).toBe(REAL_COLUMN_MAX);
      expect(column(b, 'ttft_count')).toBe(2);
    });

    it('stops every column at its maximum, when counting and when merging', () => {
      const full = bucket();
      full.values.set(ADDITIVE_COLUMN_MAX);
      const b = bucket();
      b.addReport(report({ outcome: 'SERVER_ERROR', ttftMs: 10 }), 0);
      b.addSelection(0);
      b.merge(full);
      b.merge(full);
      ADDITIVE_COLUMNS.forEach((name, i) => expect([name, b.values[i]]).toEqual([name, ADDITIVE_COLUMN_MAX[i]]));
      b.addReport(report({ outcome: 'SERVER_ERROR', ttftMs: 10 }), 0);
      b.addSelection(0);
      expect(b.calls).toBe(INTEGER_COLUMN_MAX);
      expect(b.selections).toBe(INTEGER_COLUMN_MAX);
      expect(column(b, 'failures')).toBe(INTEGER_COLUMN_MAX);
    });

    it('stops a sum just below the maximum exactly at it', () => {
      const near = bucket();
      near.values[ADDITIVE_COLUMNS.indexOf('calls')] = INTEGER_COLUMN_MAX - 1;
      const b = bucket();
      b.merge(near);
      expect(b.calls).toBe(INTEGER_COLUMN_MAX - 1);
      b.addReport(report(), 0);
      expect(b.calls).toBe(INTEGER_COLUMN_MAX);
      b.addReport(report(), 0);
      expect(b.calls).toBe(INTEGER_COLUMN_MAX);
    });

    it('keeps the most open leases within the integer column', () => {
      const b = bucket();
      b.addSelection(2 ** 40);
      expect(b.maxOpenLeases).toBe(INTEGER_COLUMN_MAX);
      b.addReport(report(), 2 ** 41);
      expect(b.maxOpenLeases).toBe(INTEGER_COLUMN_MAX);
    });
  });
});

import { FAILURE_CLASSES, type OutcomeClass } from '../common/outcome';
import { quantile } from '../minute-metrics/histogram';

/**
 * The one definition of every figure the gateway shows (docs/figures.md): the monitoring API, the
 * observation API, the fleet view and the series all compute theirs here, from summed minute rows
 * (`instance_metrics_minute`), over a named window. Prometheus computes the same from its counters
 * with the PromQL in docs/figures.md.
 *
 * - calls: every report (an attempt), whatever its outcome;
 * - successRate: SUCCESS / calls × 100;
 * - failureRate: backend failures (SERVER_ERROR, TIMEOUT, UNKNOWN) / calls × 100;
 * - rateLimitedRate: RATE_LIMITED / calls × 100;
 * - callerErrorRate: (CLIENT_ERROR + AUTH_ERROR) / calls × 100 — the four add up to 100;
 * - averageLatencyMs: the mean reported latency over all calls;
 * - p50/p95/p99: from the latency histogram, as Prometheus' `histogram_quantile` reads it;
 * - cost: the reported cost, else `costPerUnit` × reported tokens (priced when counted).
 *
 * Rates are 0 without calls (the reference's convention: `calls` tells an idle instance apart);
 * latencies and percentiles are null without calls.
 */

/** The non-success outcome classes, in a stable order. */
export const ERROR_CLASSES = [
  'SERVER_ERROR',
  'TIMEOUT',
  'RATE_LIMITED',
  'AUTH_ERROR',
  'CLIENT_ERROR',
  'UNKNOWN',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** Outcome classes the caller caused (a bad request, a bad credential): neither success nor the backend's fault. */
export const CALLER_ERROR_CLASSES: ReadonlySet<OutcomeClass> = new Set<OutcomeClass>(['CLIENT_ERROR', 'AUTH_ERROR']);

/** What the figures are computed from: summed minute rows (see MinuteQueries). */
export interface FigureInputs {
  readonly calls: number;
  readonly successes: number;
  readonly byOutcome: Readonly<Record<ErrorClass, number>>;
  readonly latencySumMs: number;
  readonly latencyBuckets: readonly number[];
  readonly totalTokens: number;
  readonly cost: number;
}

/** Every figure over one window. */
export interface Figures {
  readonly calls: number;
  readonly successes: number;
  /** Backend failures: SERVER_ERROR + TIMEOUT + UNKNOWN. */
  readonly failures: number;
  readonly rateLimited: number;
  /** CLIENT_ERROR + AUTH_ERROR. */
  readonly callerErrors: number;
  readonly successRate: number;
  readonly failureRate: number;
  readonly rateLimitedRate: number;
  readonly callerErrorRate: number;
  readonly averageLatencyMs: number | null;
  readonly p50LatencyMs: number | null;
  readonly p95LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
  readonly totalTokens: number;
  readonly cost: number;
  /** Count per non-success class. */
  readonly errorClasses: Readonly<Record<ErrorClass, number>>;
}

/** Rounds to `digits` decimals (rates and averages: 2; cost: 6). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `part` of `calls` in percent, rounded to 0.01; 0 without calls. */
export function percentOf(part: number, calls: number): number {
  return calls > 0 ? round((part * 100) / calls) : 0;
}

/** Success rate in percent of all calls, unrounded; null without calls. */
export function successRateOf(totals: Pick<FigureInputs, 'calls' | 'successes'>): number | null {
  return totals.calls > 0 ? (totals.successes * 100) / totals.calls : null;
}

/** Mean reported latency over all calls, ms, unrounded; null without calls. */
export function averageLatencyOf(totals: Pick<FigureInputs, 'calls' | 'latencySumMs'>): number | null {
  return totals.calls > 0 ? totals.latencySumMs / totals.calls : null;
}

/**
 * A latency percentile from the summed histogram with Prometheus `histogram_quantile` semantics
 * (linear interpolation inside the bucket, the overflow bucket answering the highest bound),
 * rounded to 0.1 ms; null without calls.
 */
export function percentileOf(totals: Pick<FigureInputs, 'latencyBuckets'>, q: number): number | null {
  const value = quantile(totals.latencyBuckets, q);
  return value === undefined ? null : Math.round(value * 10) / 10;
}

/** Backend failures (FAILURE_CLASSES) among the counts. */
export function failuresOf(byOutcome: Readonly<Record<ErrorClass, number>>): number {
  let failures = 0;
  for (const outcome of ERROR_CLASSES) if (FAILURE_CLASSES.has(outcome)) failures += byOutcome[outcome];
  return failures;
}

/** Every figure of `totals`, rounded as shown. */
export function figuresOf(totals: FigureInputs): Figures {
  const { calls, byOutcome } = totals;
  const failures = failuresOf(byOutcome);
  const callerErrors = byOutcome.CLIENT_ERROR + byOutcome.AUTH_ERROR;
  const average = averageLatencyOf(totals);
  return {
    calls,
    successes: totals.successes,
    failures,
    rateLimited: byOutcome.RATE_LIMITED,
    callerErrors,
    successRate: percentOf(totals.successes, calls),
    failureRate: percentOf(failures, calls),
    rateLimitedRate: percentOf(byOutcome.RATE_LIMITED, calls),
    callerErrorRate: percentOf(callerErrors, calls),
    averageLatencyMs: average === null ? null : round(average),
    p50LatencyMs: percentileOf(totals, 0.5),
    p95LatencyMs: percentileOf(totals, 0.95),
    p99LatencyMs: percentileOf(totals, 0.99),
    totalTokens: totals.totalTokens,
    cost: round(totals.cost, 6),
    errorClasses: { ...byOutcome },
  };
}

export { costOfCall } from '../minute-metrics/cost';

// ---------------------------------------------------------------------------------------------
// Windows

export const MINUTE_MS = 60_000;

/** The named windows a figure is computed over. */
export const TIME_WINDOWS = ['1m', '10m', '30m', '1h', '6h', '24h'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

const WINDOW_MINUTES: Readonly<Record<TimeWindow, number>> = {
  '1m': 1,
  '10m': 10,
  '30m': 30,
  '1h': 60,
  '6h': 360,
  '24h': 1440,
};

/** A named window resolved at a time: the minute rows [from, to) it covers. */
export interface ResolvedWindow {
  readonly name: TimeWindow;
  readonly minutes: number;
  /** Start of the oldest minute counted, epoch ms. */
  readonly from: number;
  /** Exclusive end for `minute_ts` (now + 1): the current, partial minute is counted. */
  readonly to: number;
  /** The moment the window ends (now), epoch ms. */
  readonly end: number;
}

export function minuteOf(at: number): number {
  return at - (at % MINUTE_MS);
}

/**
 * The window `name` at `now`: the N whole minutes before the current one, and the current one so
 * far. "10m" at 12:34:20 counts the minutes 12:24 … 12:34 (10 min 20 s): a window never starts
 * empty at a minute's turn, and every surface that names the same window counts the same rows.
 */
export function windowAt(name: TimeWindow, now: number): ResolvedWindow {
  const minutes = WINDOW_MINUTES[name];
  return { name, minutes, from: minuteOf(now) - minutes * MINUTE_MS, to: now + 1, end: now };
}

// ---------------------------------------------------------------------------------------------
// Series ranges

export const TIME_RANGES = ['1h', '6h', '24h', '7d'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

/** Each range and its point size: 60 to 168 points, so a fresh system shows a line within minutes. */
export const RANGES: Readonly<Record<TimeRange, { readonly hours: number; readonly bucketMinutes: number }>> = {
  '1h': { hours: 1, bucketMinutes: 1 },
  '6h': { hours: 6, bucketMinutes: 5 },
  '24h': { hours: 24, bucketMinutes: 15 },
  '7d': { hours: 168, bucketMinutes: 60 },
};

/** The buckets of `range` at `now`: the first and last bucket start (epoch ms) and the size. */
export function rangeAt(
  range: TimeRange,
  now: number,
): { first: number; last: number; bucketMs: number; bucketMinutes: number } {
  const { hours, bucketMinutes } = RANGES[range];
  const bucketMs = bucketMinutes * MINUTE_MS;
  const first = Math.floor((now - hours * 3_600_000) / bucketMs) * bucketMs + bucketMs;
  const last = Math.floor(now / bucketMs) * bucketMs;
  return { first, last, bucketMs, bucketMinutes };
}

import type { InstanceStatsView } from './instance-stats-view';
import type { OutcomeClass } from '../common/outcome';
import type { InstanceStatsDelta } from '../state/stats-exchange';
import { isAmount, RollingWindow, type WindowTotals } from './rolling-window';
import type { StatsOutbox } from './stats-outbox';

export type { WindowTotals } from './rolling-window';

/** One classified report, as the stats see it. `at` is epoch ms from the injected clock. */
export interface RecordedOutcome {
  readonly at: number;
  readonly outcome: OutcomeClass;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly totalTokens?: number;
  readonly cost?: number;
}

export interface InstanceStatsOptions {
  /** Latency assumed before the first sample: neither 0 (would flood the newcomer) nor pessimistic. */
  readonly neutralLatencyMs: number;
  /** Time constant τ of the latency and TTFT EWMAs (docs/resilience.md §5: ~10 s). */
  readonly latencyDecayMs: number;
  /**
   * A failed call (FAILURE_CLASSES) is observed as at least this slow. Set it at or above the
   * instance's healthy latency (e.g. its `timeoutMs`) for backends slower than the default.
   */
  readonly failurePenaltyMs: number;
  /** Ramp from 10 % to full weight after `markJoined`. 0 disables slow start. */
  readonly slowStartMs: number;
}

export const DEFAULT_INSTANCE_STATS_OPTIONS: Readonly<InstanceStatsOptions> = {
  neutralLatencyMs: 1000,
  latencyDecayMs: 10_000,
  failurePenaltyMs: 5000,
  slowStartMs: 30_000,
};

const SLOW_START_FLOOR = 0.1;
/** A latency sample above this multiple of the average is an outlier until the next one confirms it. */
const OUTLIER_FACTOR = 2;

/**
 * Live statistics of one instance: a 60 s window of 1 s buckets with running totals, peak-EWMA
 * latency, TTFT, open leases and the slow-start ramp. O(1) amortised per `record`/`refresh`, no
 * allocation on either.
 *
 * Latency policy (why not every report is a latency sample):
 * - SUCCESS is sampled as measured.
 * - SERVER_ERROR and UNKNOWN are sampled as `max(latencyMs, failurePenaltyMs)` so a backend that
 *   fails in 5 ms does not look fast — from the second failure in a row on. The first failure after
 *   a success is not sampled: under peak-EWMA one penalty sample keeps a healthy instance out of the
 *   near-equal band for ~45 s (τ·ln(5000 / 50)), so one refused connection a minute would starve
 *   it, while a backend that is really failing fails its next call too (one failed call more per
 *   onset). TIMEOUT is always sampled: a timeout is a measured latency, not a guess. A fixed floor rather than `2 × ewma`: a relative penalty
 *   is below a healthy neighbour's latency whenever the instance's own EWMA is low (a 100 ms
 *   instance failing would be sampled at 200 ms and still beat a healthy 300 ms one), and under the
 *   peak rule it compounds, doubling per failure, so ten failures leave it ×1024 slow and it needs
 *   ~70 s (τ·ln 1024) to come back — longer than the breaker keeps it out.
 * - RATE_LIMITED, CLIENT_ERROR and AUTH_ERROR are not sampled: a 429 or a 400 comes back in
 *   milliseconds and says nothing about how fast the backend serves; cool-down and the breaker deal
 *   with them.
 *
 * Without new samples, a latency above the neutral prior relaxes toward it with the same τ: a
 * penalised instance that no longer gets traffic is not condemned forever, yet an idle instance
 * never looks faster than an unseen one (decaying toward 0, as Finagle does, would herd a
 * deterministic least-latency pick onto whatever has been idle longest).
 *
 * @example
 * const stats = new InstanceStats({ failurePenaltyMs: 60_000 });
 * stats.record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 420, totalTokens: 812 });
 * stats.refresh(clock.now());
 * stats.latencyMs; // 420
 */
export class InstanceStats implements InstanceStatsView {
  private options: InstanceStatsOptions;
  private readonly window = new RollingWindow();
  private ewma: number;
  private lastSampleAt: number | undefined;
  private shownLatency: number;
  private ttft: number | undefined;
  private lastTtftAt: number | undefined;
  private joinedAt: number | undefined;
  private rampFactor = 1;
  private leases = 0;
  /** Open leases other nodes hold (cluster mode); counted in `openLeases`. */
  private remoteLeases = 0;
  private lastReport: number | undefined;
  /** Whether the last latency sample was a lone outlier (blended in, not taken as a peak). */
  private outlierBefore = false;
  /** Failures (SERVER_ERROR, TIMEOUT, UNKNOWN) since the last SUCCESS. */
  private failureStreak = 0;
  /** When the oldest selection not followed by any report was made; undefined: none pending. */
  private pendingSince: number | undefined;
  /** Selections made since the last report (while any is still open). */
  private pendingCount = 0;
  private unanswered = 0;
  /** Cluster mode: where recorded reports also go, to be shared with the other nodes. */
  private outbox: StatsOutbox | undefined;

  constructor(options: Partial<InstanceStatsOptions> = {}) {
    this.options = checkOptions({ ...DEFAULT_INSTANCE_STATS_OPTIONS, ...options });
    this.ewma = this.options.neutralLatencyMs;
    this.shownLatency = this.ewma;
  }

  get calls(): number {
    return this.window.calls;
  }
  get successes(): number {
    return this.window.successes;
  }
  get failures(): number {
    return this.window.failures;
  }
  get latencyMs(): number {
    return this.shownLatency;
  }
  get ttftMs(): number | undefined {
    return this.ttft;
  }
  get openLeases(): number {
    return this.leases + this.remoteLeases;
  }
  get slowStartFactor(): number {
    return this.rampFactor;
  }
  get lastReportAt(): number | undefined {
    return this.lastReport;
  }
  get unansweredMs(): number {
    return this.unanswered;
  }

  /** Per-instance routing params changed. Takes effect from the next sample or refresh. */
  configure(options: Partial<InstanceStatsOptions>): void {
    const wasUnseen = this.lastSampleAt === undefined;
    this.options = checkOptions({ ...this.options, ...options });
    if (wasUnseen) this.ewma = this.shownLatency = this.options.neutralLatencyMs;
  }

  record(report: RecordedOutcome): void {
    const { at, outcome } = report;
    if (!this.window.add(report)) return; // malformed (unknown outcome, NaN time): no latency sample either
    const sample = this.latencySample(outcome, report.latencyMs);
    // Only failures are sampled other than as measured: theirs is a penalty, never an outlier.
    if (sample !== undefined) this.observeLatency(at, sample, outcome !== 'SUCCESS');
    this.pendingSince = undefined;
    this.pendingCount = 0;
    if (isAmount(report.ttftMs)) this.observeTtft(at, report.ttftMs);
    if (this.lastReport === undefined || at > this.lastReport) this.lastReport = at;
    this.outbox?.add(report, sample);
  }

  /** Cluster mode: reports recorded from now on are also added to `outbox` (undefined: no longer). */
  shareTo(outbox: StatsOutbox | undefined): void {
    this.outbox = outbox;
  }

  /**
   * Learns what another node's reports taught it (one batch), as if they had been reported here,
   * and does not share it again. The batch's newest report is dated `now` and the others keep
   * their distance to it: a batch arrives up to a few hundred ms after its reports, and a sample
   * dated before this node's last one would blend in with no weight (peak-EWMA weighs a sample by
   * the time since the previous one), so the batch would only count through its peaks.
   *
   * @example
   * stats.absorb(delta, clock.now());
   */
  absorb(delta: InstanceStatsDelta, now: number): void {
    let newest = Number.POSITIVE_INFINITY;
    for (const bucket of delta.buckets) if (bucket.ago < newest) newest = bucket.ago;
    if (newest === Number.POSITIVE_INFINITY) return; // no report counted: nothing to learn
    const at = (ago: number): number => now - Math.max(0, ago - newest);
    for (const bucket of delta.buckets) {
      this.window.addCounts(at(bucket.ago), bucket.outcomes, bucket);
      // The instance served someone since: a failure here next is not "the second in a row".
      if ((bucket.outcomes.SUCCESS ?? 0) > 0) this.failureStreak = 0;
    }
    const latency = delta.latency;
    if (latency !== undefined) {
      // A batch's peak at or above the penalty is a failure's penalty (or worse): taken at once.
      const penalty = latency.peak >= this.options.failurePenaltyMs;
      if (latency.beforeCount > 0) this.observeLatency(at(latency.beforeAgo), latency.beforeMean, false);
      this.observeLatency(at(latency.peakAgo), latency.peak, penalty);
      if (latency.afterCount > 0) this.observeLatency(at(latency.afterAgo), latency.afterMean, false);
    }
    if (delta.ttft !== undefined) this.observeTtft(at(delta.ttft.ago), delta.ttft.mean);
    if (this.lastReport === undefined || now > this.lastReport) this.lastReport = now;
    this.pendingSince = undefined; // the instance answered someone
    this.pendingCount = 0;
  }

  /** Evicts buckets older than 60 s and brings the view fields up to `now`. */
  refresh(now: number): void {
    this.window.advanceTo(now);
    this.shownLatency = this.relaxedLatency(now);
    this.rampFactor = this.rampAt(now);
    // A pending selection may be a caller that never reports (its lease stays open until its
    // TTL), and with one caller in five silent two in a row are common: the clock counts from the
    // third, which a backend that hangs under concurrent traffic collects within milliseconds.
    const pending = this.pendingSince;
    this.unanswered = pending !== undefined && this.pendingCount > 2 && now > pending ? now - pending : 0;
  }

  /** The instance was created or came back from an open breaker: ramp its weight up from 10 %. */
  markJoined(now: number): void {
    this.joinedAt = now;
    this.rampFactor = this.options.slowStartMs > 0 ? SLOW_START_FLOOR : 1;
  }

  /**
   * A selection of this instance was handed out at `at` (epoch ms; omitted: not timed). The first
   * one after the last report starts the unanswered clock ({@link unansweredMs}).
   */
  incrementLeases(at?: number): void {
    this.leases++;
    if (at === undefined) return;
    if (this.pendingSince === undefined) this.pendingSince = at;
    this.pendingCount++;
  }

  decrementLeases(): void {
    if (this.leases > 0) this.leases--;
    // Nothing open any more (reported, or expired unreported): nothing is waiting for an answer.
    if (this.leases === 0) {
      this.pendingSince = undefined;
      this.pendingCount = 0;
    }
  }

  /** Cluster mode: the open leases of this instance the other nodes hold, added to `openLeases`. */
  setRemoteLeases(open: number): void {
    this.remoteLeases = open > 0 ? open : 0;
  }

  /** Window totals as of the last refresh (or of `now`, if given). Allocates: monitoring only. */
  windowTotals(now?: number): WindowTotals {
    if (now !== undefined) this.refresh(now);
    return this.window.snapshot();
  }

  private latencySample(outcome: OutcomeClass, latencyMs: number): number | undefined {
    const measured = isAmount(latencyMs) ? latencyMs : undefined;
    switch (outcome) {
      case 'SUCCESS':
        this.failureStreak = 0;
        return measured;
      case 'TIMEOUT':
        this.failureStreak++;
        return Math.max(measured ?? 0, this.options.failurePenaltyMs);
      case 'SERVER_ERROR':
      case 'UNKNOWN':
        // An isolated failure is not sampled (see the class comment); a second in a row is.
        return ++this.failureStreak > 1 ? Math.max(measured ?? 0, this.options.failurePenaltyMs) : undefined;
      case 'RATE_LIMITED':
      case 'CLIENT_ERROR':
      case 'AUTH_ERROR':
        return undefined;
      default: {
        const _: never = outcome;
        return undefined;
      }
    }
  }

  /**
   * Peak-EWMA (Finagle): a slower sample is taken at once, a faster one blends in with time —
   * except a lone outlier, more than {@link OUTLIER_FACTOR}× the average, which blends in too: one
   * call that took 150 ms among 20 ms ones (a GC pause, a long answer) would otherwise make the
   * instance look 7× slower for ~20 s and push it out of smart's near-equal band. The second such
   * sample in a row is taken at once (a real slowdown costs one call more). Failure penalties are
   * always taken at once: the failure streak rule has already vetted them.
   */
  private observeLatency(at: number, rtt: number, penalty: boolean): void {
    const first = this.lastSampleAt === undefined;
    const outlier = !first && !penalty && rtt > OUTLIER_FACTOR * this.ewma;
    if (outlier && !this.outlierBefore) {
      this.outlierBefore = true;
      const w = this.decay(at - (this.lastSampleAt ?? at));
      this.ewma = this.ewma * w + rtt * (1 - w);
    } else if (first || rtt > this.ewma) {
      this.outlierBefore = false;
      this.ewma = rtt; // the first sample replaces the neutral prior; a peak replaces the average
    } else {
      this.outlierBefore = false;
      const w = this.decay(at - (this.lastSampleAt ?? at));
      this.ewma = this.ewma * w + rtt * (1 - w);
    }
    if (this.lastSampleAt === undefined || at > this.lastSampleAt) this.lastSampleAt = at;
    this.shownLatency = this.ewma;
  }

  /** Plain EWMA: TTFT has no penalty or peak semantics, it only ranks streaming responsiveness. */
  private observeTtft(at: number, ttftMs: number): void {
    const w = this.lastTtftAt === undefined ? 0 : this.decay(at - this.lastTtftAt);
    this.ttft = (this.ttft ?? 0) * w + ttftMs * (1 - w);
    if (this.lastTtftAt === undefined || at > this.lastTtftAt) this.lastTtftAt = at;
  }

  private relaxedLatency(now: number): number {
    const neutral = this.options.neutralLatencyMs;
    if (this.lastSampleAt === undefined || this.ewma <= neutral) return this.ewma;
    return neutral + (this.ewma - neutral) * this.decay(now - this.lastSampleAt);
  }

  /** Weight of the old value after `elapsedMs`; out-of-order timestamps count as no time passed. */
  private decay(elapsedMs: number): number {
    return elapsedMs > 0 ? Math.exp(-elapsedMs / this.options.latencyDecayMs) : 1;
  }

  private rampAt(now: number): number {
    if (this.joinedAt === undefined) return 1;
    const elapsed = now - this.joinedAt;
    const period = this.options.slowStartMs;
    if (!(elapsed < period)) {
      this.joinedAt = undefined; // settled: later refreshes skip the arithmetic
      return 1;
    }
    if (elapsed <= 0) return SLOW_START_FLOOR;
    return SLOW_START_FLOOR + ((1 - SLOW_START_FLOOR) * elapsed) / period;
  }
}

function checkOptions(options: InstanceStatsOptions): InstanceStatsOptions {
  for (const [key, value] of Object.entries(options)) {
    if (!isAmount(value as number)) throw new RangeError(`${key} must be a finite number ≥ 0, got ${String(value)}`);
  }
  if (options.latencyDecayMs === 0) throw new RangeError('latencyDecayMs must be > 0');
  return options;
}

import { OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';
import type { InstanceStatsDelta, StatsDeltaBucket, StatsDeltaLatency } from '../state/stats-exchange';
import { isAmount, type WindowSample } from './rolling-window';

/** The part of a recorded report the outbox keeps (an `InstanceStats` `RecordedOutcome` is one). */
export interface SharedSample extends WindowSample {
  readonly ttftMs?: number;
}

/** Seconds one batch can span before later reports are counted in its last second. */
const ROWS = 4;
const BUCKET_MS = 1000;
/** Row layout: newest report time, one count per outcome class, then the four sums. */
const LAST_AT = 0;
const COUNTS = 1;
const PROMPT = COUNTS + OUTCOME_CLASSES.length;
const COMPLETION = PROMPT + 1;
const TOTAL = PROMPT + 2;
const COST = PROMPT + 3;
const FIELDS = PROMPT + 4;
const OUTCOME_INDEX = new Map<OutcomeClass, number>(OUTCOME_CLASSES.map((outcome, index) => [outcome, index]));

/**
 * What one instance's statistics learned on this node since the last batch, to be shared with
 * the other nodes (cluster mode). `add` is called from `InstanceStats.record` on the report path:
 * it is O(1) and allocates nothing (fixed typed arrays, plain number fields); `take` builds the
 * {@link InstanceStatsDelta} and starts over, a few times a second.
 *
 * Latency samples are reduced as {@link StatsDeltaLatency} describes: a running peak with the count
 * and sum of the samples before and after it.
 *
 * @example
 * const outbox = new StatsOutbox('inst-1', (o) => dirty.push(o));
 * outbox.add(report, 420); // from InstanceStats.record
 * const delta = outbox.take(clock.now()); // every ~250 ms
 */
export class StatsOutbox {
  private readonly rows = new Float64Array(ROWS * FIELDS);
  private readonly rowEpochs = new Float64Array(ROWS);
  private rowCount = 0;
  private dirty = false;
  private peak = -1;
  private peakAt = 0;
  private beforeCount = 0;
  private beforeSum = 0;
  private beforeAt = 0;
  private afterCount = 0;
  private afterSum = 0;
  private afterAt = 0;
  private ttftCount = 0;
  private ttftSum = 0;
  private ttftAt = 0;

  /** `onFirst` is called with this outbox when a batch gets its first report (the sender's to-do list). */
  constructor(
    readonly instanceId: string,
    private readonly onFirst: (outbox: StatsOutbox) => void,
  ) {}

  /** Whether something was added since the last {@link take}. */
  get pending(): boolean {
    return this.dirty;
  }

  /**
   * Adds one report that the window counted; `latencySample` is what the latency policy made of
   * it (undefined: not a latency sample).
   */
  add(report: SharedSample, latencySample: number | undefined): void {
    const index = OUTCOME_INDEX.get(report.outcome);
    if (index === undefined || !Number.isFinite(report.at)) return;
    const at = report.at;
    const base = this.rowFor(Math.floor(at / BUCKET_MS)) * FIELDS;
    const rows = this.rows;
    if (at > rows[base + LAST_AT]) rows[base + LAST_AT] = at;
    rows[base + COUNTS + index] += 1;
    if (isAmount(report.promptTokens)) rows[base + PROMPT] += report.promptTokens;
    if (isAmount(report.completionTokens)) rows[base + COMPLETION] += report.completionTokens;
    if (isAmount(report.totalTokens)) rows[base + TOTAL] += report.totalTokens;
    if (isAmount(report.cost)) rows[base + COST] += report.cost;
    if (latencySample !== undefined) this.addLatency(at, latencySample);
    if (isAmount(report.ttftMs)) {
      this.ttftCount++;
      this.ttftSum += report.ttftMs;
      if (at > this.ttftAt) this.ttftAt = at;
    }
    if (!this.dirty) {
      this.dirty = true;
      this.onFirst(this);
    }
  }

  /** The batch as of `now` (times become "ms before now"), and a fresh start; undefined if empty. */
  take(now: number): InstanceStatsDelta | undefined {
    if (!this.dirty) return undefined;
    const buckets: StatsDeltaBucket[] = [];
    for (let r = 0; r < this.rowCount; r++) {
      const base = r * FIELDS;
      const outcomes: Partial<Record<OutcomeClass, number>> = {};
      for (let i = 0; i < OUTCOME_CLASSES.length; i++) {
        const count = this.rows[base + COUNTS + i];
        if (count > 0) outcomes[OUTCOME_CLASSES[i]] = count;
      }
      buckets.push({
        ago: agoOf(now, this.rows[base + LAST_AT]),
        outcomes,
        promptTokens: this.rows[base + PROMPT],
        completionTokens: this.rows[base + COMPLETION],
        totalTokens: this.rows[base + TOTAL],
        cost: this.rows[base + COST],
      });
    }
    const latency: StatsDeltaLatency | undefined =
      this.peak < 0
        ? undefined
        : {
            beforeCount: this.beforeCount,
            beforeMean: this.beforeCount > 0 ? this.beforeSum / this.beforeCount : 0,
            beforeAgo: this.beforeCount > 0 ? agoOf(now, this.beforeAt) : 0,
            peak: this.peak,
            peakAgo: agoOf(now, this.peakAt),
            afterCount: this.afterCount,
            afterMean: this.afterCount > 0 ? this.afterSum / this.afterCount : 0,
            afterAgo: this.afterCount > 0 ? agoOf(now, this.afterAt) : 0,
          };
    const ttft =
      this.ttftCount > 0
        ? { count: this.ttftCount, mean: this.ttftSum / this.ttftCount, ago: agoOf(now, this.ttftAt) }
        : undefined;
    this.reset();
    const delta: { -readonly [K in keyof InstanceStatsDelta]: InstanceStatsDelta[K] } = {
      instanceId: this.instanceId,
      buckets,
    };
    if (latency !== undefined) delta.latency = latency;
    if (ttft !== undefined) delta.ttft = ttft;
    return delta;
  }

  /** Forgets the batch without sending it (the instance was deleted). */
  discard(): void {
    this.reset();
  }

  /** The row of `epoch`: an existing one, a new one, or (when the batch spans too long) the last. */
  private rowFor(epoch: number): number {
    for (let r = this.rowCount - 1; r >= 0; r--) if (this.rowEpochs[r] === epoch) return r;
    if (this.rowCount < ROWS) {
      const r = this.rowCount++;
      this.rowEpochs[r] = epoch;
      this.rows.fill(0, r * FIELDS, (r + 1) * FIELDS);
      return r;
    }
    return ROWS - 1;
  }

  /** Keeps the peak, and the count and sum of the samples before and after it. */
  private addLatency(at: number, sample: number): void {
    if (this.peak < 0) {
      this.peak = sample;
      this.peakAt = at;
    } else if (sample > this.peak) {
      // The old peak and what followed it are now "before" the new peak.
      this.beforeCount += 1 + this.afterCount;
      this.beforeSum += this.peak + this.afterSum;
      this.beforeAt = this.afterCount > 0 ? this.afterAt : this.peakAt;
      this.peak = sample;
      this.peakAt = at;
      this.afterCount = 0;
      this.afterSum = 0;
    } else {
      this.afterCount++;
      this.afterSum += sample;
      this.afterAt = at;
    }
  }

  private reset(): void {
    this.dirty = false;
    this.rowCount = 0;
    this.peak = -1;
    this.beforeCount = this.beforeSum = this.beforeAt = 0;
    this.afterCount = this.afterSum = this.afterAt = 0;
    this.ttftCount = this.ttftSum = this.ttftAt = 0;
  }
}

/** Whole ms from `at` back from `now`, never negative. */
function agoOf(now: number, at: number): number {
  return Math.max(0, Math.round(now - at));
}

import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';

/** Counts and sums over the rolling window, for monitoring. */
export interface WindowTotals {
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly byOutcome: Readonly<Record<OutcomeClass, number>>;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly cost: number;
}

/** Token and cost amounts a report (or several) adds to the window. */
export interface WindowSums {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly totalTokens?: number;
  readonly cost?: number;
}

/** The part of a report the window counts. `at` is epoch ms from the injected clock. */
export interface WindowSample extends WindowSums {
  readonly at: number;
  readonly outcome: OutcomeClass;
}

const BUCKETS = 60;
const BUCKET_MS = 1000;
/** Bucket layout: one count per outcome class (in OUTCOME_CLASSES order), then four sums. */
const PROMPT = OUTCOME_CLASSES.length;
const COMPLETION = PROMPT + 1;
const TOTAL = PROMPT + 2;
const COST = PROMPT + 3;
const FIELDS = PROMPT + 4;
const OUTCOME_INDEX = new Map<OutcomeClass, number>(OUTCOME_CLASSES.map((outcome, index) => [outcome, index]));
const SUCCESS_INDEX = OUTCOME_CLASSES.indexOf('SUCCESS');
const FAILURE_INDEXES = OUTCOME_CLASSES.flatMap((outcome, index) => (FAILURE_CLASSES.has(outcome) ? [index] : []));
const IS_FAILURE_INDEX = OUTCOME_CLASSES.map((outcome) => FAILURE_CLASSES.has(outcome));

/**
 * A 60 s window of 1 s buckets in a ring of typed arrays, with running totals that each add
 * increases and each evicted bucket decreases, so reading a total is O(1) and neither `add` nor
 * `advanceTo` allocates.
 *
 * @example
 * const window = new RollingWindow();
 * window.add({ at: clock.now(), outcome: 'SUCCESS', totalTokens: 812 });
 * window.advanceTo(clock.now() + 60_000);
 * window.calls; // 0
 */
export class RollingWindow {
  private readonly buckets = new Float64Array(BUCKETS * FIELDS);
  private readonly totals = new Float64Array(FIELDS);
  private totalCalls = 0;
  private totalFailures = 0;
  /** Epoch second of the newest bucket; the window holds (headEpoch − 60, headEpoch]. */
  private headEpoch = Number.NEGATIVE_INFINITY;

  get calls(): number {
    return this.totalCalls;
  }
  get successes(): number {
    return this.totals[SUCCESS_INDEX];
  }
  get failures(): number {
    return this.totalFailures;
  }

  /**
   * Counts the sample in the bucket of its `at`; one older than the window is not counted. Returns
   * false, counting nothing, for a sample that is malformed rather than late (unknown outcome,
   * non-finite `at`), so the caller can drop the rest of the report too.
   */
  add(sample: WindowSample): boolean {
    const { at } = sample;
    const index = OUTCOME_INDEX.get(sample.outcome);
    // Timestamps come from our own clock; a NaN would poison every running total, so drop it.
    if (index === undefined || !Number.isFinite(at)) return false;
    const base = this.bucketOf(at);
    if (base < 0) return true; // a report older than the window
    this.addAmount(base, index, 1);
    this.addSums(base, sample);
    this.totalCalls++;
    if (IS_FAILURE_INDEX[index]) this.totalFailures++;
    return true;
  }

  /**
   * Counts several reports of one second at once (what another node counted: cluster mode), as
   * if each had been {@link add}ed at `at`. Counts that are not finite and ≥ 0, and unknown
   * outcome classes, are skipped; sums are counted only together with at least one report.
   *
   * @example
   * window.addCounts(now - 120, { SUCCESS: 3, TIMEOUT: 1 }, { totalTokens: 2400 });
   */
  addCounts(at: number, counts: Readonly<Partial<Record<string, number>>>, sums: WindowSums): void {
    if (!Number.isFinite(at)) return;
    let calls = 0;
    for (const outcome of OUTCOME_CLASSES) calls += countOf(counts, outcome);
    if (calls === 0) return;
    const base = this.bucketOf(at);
    if (base < 0) return;
    let failures = 0;
    for (let index = 0; index < OUTCOME_CLASSES.length; index++) {
      const count = countOf(counts, OUTCOME_CLASSES[index]);
      if (count === 0) continue;
      this.addAmount(base, index, count);
      if (IS_FAILURE_INDEX[index]) failures += count;
    }
    this.addSums(base, sums);
    this.totalCalls += calls;
    this.totalFailures += failures;
  }

  /** Evicts buckets older than 60 s as of `now`. A `now` behind the head changes nothing. */
  advanceTo(now: number): void {
    const epoch = Math.floor(now / BUCKET_MS);
    if (epoch > this.headEpoch) this.advance(epoch);
  }

  /** The totals as of the last `add`/`advanceTo`. Allocates: monitoring only. */
  snapshot(): WindowTotals {
    const byOutcome = {} as Record<OutcomeClass, number>;
    OUTCOME_CLASSES.forEach((outcome, index) => (byOutcome[outcome] = this.totals[index]));
    return {
      calls: this.totalCalls,
      successes: this.totals[SUCCESS_INDEX],
      failures: this.totalFailures,
      byOutcome,
      promptTokens: this.totals[PROMPT],
      completionTokens: this.totals[COMPLETION],
      totalTokens: this.totals[TOTAL],
      cost: this.totals[COST],
    };
  }

  /** Offset of the bucket of `at` (moving the head forward if needed), or -1 when older than the window. */
  private bucketOf(at: number): number {
    const epoch = Math.floor(at / BUCKET_MS);
    if (epoch > this.headEpoch) this.advance(epoch);
    else if (epoch <= this.headEpoch - BUCKETS) return -1;
    return slotOf(epoch) * FIELDS;
  }

  private addSums(base: number, sums: WindowSums): void {
    this.addAmount(base, PROMPT, sums.promptTokens);
    this.addAmount(base, COMPLETION, sums.completionTokens);
    this.addAmount(base, TOTAL, sums.totalTokens);
    this.addAmount(base, COST, sums.cost);
  }

  private addAmount(base: number, field: number, amount: number | undefined): void {
    if (!isAmount(amount)) return;
    this.buckets[base + field] += amount;
    this.totals[field] += amount;
  }

  /** Moves the head to `epoch`, evicting the buckets it passes; a gap of a whole window just resets. */
  private advance(epoch: number): void {
    if (epoch - this.headEpoch >= BUCKETS) {
      // Totals are the sum of the buckets, so no calls means the buckets are already zero.
      if (this.totalCalls > 0) this.reset();
    } else {
      for (let e = this.headEpoch + 1; e <= epoch; e++) this.evict(slotOf(e));
    }
    this.headEpoch = epoch;
  }

  private evict(slot: number): void {
    const base = slot * FIELDS;
    let calls = 0;
    for (let i = 0; i < PROMPT; i++) calls += this.buckets[base + i];
    if (calls === 0) return; // sums are only ever written together with a count
    let failures = 0;
    for (const i of FAILURE_INDEXES) failures += this.buckets[base + i];
    for (let f = 0; f < FIELDS; f++) {
      this.totals[f] -= this.buckets[base + f];
      this.buckets[base + f] = 0;
    }
    this.totalCalls -= calls;
    this.totalFailures -= failures;
    // Subtracting fractional costs leaves rounding residue; an empty window is exactly zero.
    if (this.totalCalls === 0) this.totals.fill(0);
  }

  private reset(): void {
    this.buckets.fill(0);
    this.totals.fill(0);
    this.totalCalls = 0;
    this.totalFailures = 0;
  }
}

/** A usable amount: present, finite and ≥ 0 (token counts, costs, latencies, option values). */
export function isAmount(value: number | undefined): value is number {
  return value !== undefined && value >= 0 && value < Number.POSITIVE_INFINITY;
}

/** A count from another node: finite and ≥ 0, else 0. */
function countOf(counts: Readonly<Partial<Record<string, number>>>, outcome: OutcomeClass): number {
  const count = counts[outcome];
  return isAmount(count) ? count : 0;
}

function slotOf(epoch: number): number {
  return ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
}

/** One key's bucket: its level at `at` (it refills continuously from there). */
interface Bucket {
  level: number;
  at: number;
}

/**
 * A budget of work per key (a project), refilled continuously at `perSecond` up to `burst` (one
 * second's worth unless told): work is charged after it is done (it may run the level below zero), and a key below zero
 * waits until it refills. So one tenant's expensive requests — a select judging 5000 candidates —
 * cannot take more than its share of the event loop, however fast it sends them, while a key that
 * stays within the rate never waits. GitHub's GraphQL API limits by query cost the same way.
 * O(1) per call; one entry per key that was charged, until it is forgotten.
 *
 * @example
 * const budget = new CostBudget(250_000);
 * const wait = budget.waitMs(projectId, now); // > 0: refuse, retry after `wait`
 * budget.charge(projectId, candidates.length, now);
 */
export class CostBudget {
  private readonly buckets = new Map<string, Bucket>();
  /** No key's level is below zero from this time on (an upper bound, kept on every charge). */
  private deficitUntil = 0;

  private readonly burst: number;

  /**
   * `perSecond` ≤ 0 turns the budget off: nothing is counted and nobody waits. `burst` is what a
   * full bucket holds (one second's worth by default; a minute's for a per-minute budget).
   */
  constructor(
    private readonly perSecond: number,
    burst = perSecond,
  ) {
    this.burst = Math.max(burst, perSecond);
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /**
   * How long `key` must wait before its level reaches `cost` (0 by default: work of a cost known
   * only afterwards may start while the level is not below zero); 0 when it may go now.
   */
  waitMs(key: string, now: number, cost = 0): number {
    if (!this.enabled) return 0;
    const bucket = this.buckets.get(key);
    const level = bucket === undefined ? this.burst : this.levelAt(bucket, now);
    return level >= cost ? 0 : Math.ceil(((cost - level) * 1000) / this.perSecond);
  }

  /** Charges `cost` units of work done for `key` at `now`. */
  charge(key: string, cost: number, now: number): void {
    if (!this.enabled || cost <= 0) return;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { level: this.burst - cost, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.level = this.levelAt(bucket, now) - cost;
      bucket.at = now;
    }
    if (bucket.level < 0)
      this.deficitUntil = Math.max(this.deficitUntil, now + (-bucket.level * 1000) / this.perSecond);
  }

  /**
   * Whether some key may have to wait at `now` (false: none does, whatever the key) — O(1), so a
   * caller on the hot path can skip looking the key up at all while nobody is over budget.
   */
  anyWaiting(now: number): boolean {
    return now < this.deficitUntil;
  }

  /** Forgets a key (a deleted project). */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  /** Keys with a bucket (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private levelAt(bucket: Bucket, now: number): number {
    const refilled = bucket.level + (Math.max(0, now - bucket.at) * this.perSecond) / 1000;
    return refilled < this.burst ? refilled : this.burst;
  }
}

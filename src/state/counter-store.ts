import { Inject, Injectable } from '@nestjs/common';

/**
 * Rolling one-minute sums and deadlines per key: the shared state of backend quotas (RPM, TPM)
 * and RATE_LIMITED cool-downs (docs/resilience.md §3). The memory implementation serves one node; the
 * Redis one (cluster mode) keeps a local copy, synced with every turn that added to it and at least
 * every 250 ms while it is read, so every method stays synchronous and the hot path stays in memory.
 *
 * Keys are (space, instance id) rather than concatenated strings: the hot path reads them for
 * every candidate, and a fresh string per lookup would allocate and re-hash each time.
 *
 * @example
 * counters.add('rpm', id, now, 1, now);
 * if (counters.total('rpm', id, now) >= rpmLimit) skip(now + counters.msUntilAtMost('rpm', id, now, rpmLimit - 1));
 */
export interface CounterStore {
  /** Adds `amount` (negative: a correction) to the second that holds `at`, if still in the window. */
  add(space: CounterSpace, id: string, at: number, amount: number, now: number): void;
  /** Sum over the rolling minute ending at `now`. */
  total(space: CounterSpace, id: string, now: number): number;
  /** Milliseconds from `now` until the sum is at most `target` (0 when it already is). */
  msUntilAtMost(space: CounterSpace, id: string, now: number, target: number): number;
  /** The id's deadline in `space` if it is still ahead of `now`. */
  deadline(space: DeadlineSpace, id: string, now: number): number | undefined;
  /** Moves the deadline to `until` unless it is already later; returns the deadline in force. */
  extendDeadline(space: DeadlineSpace, id: string, until: number): number;
  /** Forgets the id everywhere (an instance was deleted). */
  forget(id: string): void;
}

/** Rolling sums kept per instance: decisions (RPM) and tokens (TPM). */
export type CounterSpace = 'rpm' | 'tpm';
/** Deadlines kept per instance: RATE_LIMITED cool-downs. */
export type DeadlineSpace = 'cooldown';

/** Injection token of {@link CounterStore}. */
export const CounterStore = Symbol('CounterStore');

export const InjectCounterStore = (): ParameterDecorator => Inject(CounterStore);

const BUCKETS = 60;
const BUCKET_MS = 1000;
const WINDOW_MS = BUCKETS * BUCKET_MS;

/**
 * A rolling minute of 1 s buckets with a running sum: `add` and `total` are O(1) amortised and
 * allocate nothing. A bucket's amounts leave the sum together, 60 s after its second began.
 */
export class RollingSum {
  private readonly buckets = new Float64Array(BUCKETS);
  private sum = 0;
  /** Epoch second of the newest bucket; the window holds seconds (head − 60, head]. */
  private head = Number.NEGATIVE_INFINITY;

  add(at: number, amount: number, now: number): void {
    this.advance(now);
    const second = Math.floor(at / BUCKET_MS);
    if (second <= this.head - BUCKETS || second > this.head) return; // outside the window: nothing to hold it
    this.buckets[second % BUCKETS] += amount;
    this.sum += amount;
  }

  total(now: number): number {
    this.advance(now);
    return this.sum > 1e-9 ? this.sum : 0;
  }

  msUntilAtMost(now: number, target: number): number {
    this.advance(now);
    let remaining = this.sum;
    if (remaining <= target) return 0;
    for (let second = this.head - BUCKETS + 1; second <= this.head; second++) {
      remaining -= this.buckets[second % BUCKETS];
      if (remaining <= target + 1e-9) return Math.max(0, (second + BUCKETS) * BUCKET_MS - now);
    }
    return WINDOW_MS;
  }

  private advance(now: number): void {
    const second = Math.floor(now / BUCKET_MS);
    if (second <= this.head) return;
    if (second - this.head >= BUCKETS) {
      this.buckets.fill(0);
      this.sum = 0;
    } else {
      for (let s = this.head + 1; s <= second; s++) {
        const i = s % BUCKETS;
        this.sum -= this.buckets[i];
        this.buckets[i] = 0;
      }
    }
    this.head = second;
  }
}

/** Deadlines per space and id, each forgotten once read past. Shared by the memory and Redis stores. */
export class Deadlines {
  private readonly spaces: Record<DeadlineSpace, Map<string, number>> = { cooldown: new Map() };

  /** The deadline if it is still ahead of `now`. */
  ahead(space: DeadlineSpace, id: string, now: number): number | undefined {
    const deadlines = this.spaces[space];
    const until = deadlines.get(id);
    if (until === undefined) return undefined;
    if (until > now) return until;
    deadlines.delete(id);
    return undefined;
  }

  current(space: DeadlineSpace, id: string): number | undefined {
    return this.spaces[space].get(id);
  }

  /** Moves the deadline to `until` unless it is already as late; true when it moved. */
  extend(space: DeadlineSpace, id: string, until: number): boolean {
    const current = this.spaces[space].get(id);
    if (current !== undefined && current >= until) return false;
    this.spaces[space].set(id, until);
    return true;
  }

  forget(id: string): void {
    for (const deadlines of Object.values(this.spaces)) deadlines.delete(id);
  }
}

/** One node's counters and deadlines, in memory. */
@Injectable()
export class MemoryCounterStore implements CounterStore {
  private readonly sums: Record<CounterSpace, Map<string, RollingSum>> = { rpm: new Map(), tpm: new Map() };
  private readonly deadlines = new Deadlines();

  add(space: CounterSpace, id: string, at: number, amount: number, now: number): void {
    const sums = this.sums[space];
    let sum = sums.get(id);
    if (sum === undefined) sums.set(id, (sum = new RollingSum()));
    sum.add(at, amount, now);
  }

  total(space: CounterSpace, id: string, now: number): number {
    return this.sums[space].get(id)?.total(now) ?? 0;
  }

  msUntilAtMost(space: CounterSpace, id: string, now: number, target: number): number {
    return this.sums[space].get(id)?.msUntilAtMost(now, target) ?? 0;
  }

  deadline(space: DeadlineSpace, id: string, now: number): number | undefined {
    return this.deadlines.ahead(space, id, now);
  }

  extendDeadline(space: DeadlineSpace, id: string, until: number): number {
    this.deadlines.extend(space, id, until);
    return this.deadlines.current(space, id)!;
  }

  forget(id: string): void {
    for (const sums of Object.values(this.sums)) sums.delete(id);
    this.deadlines.forget(id);
  }
}

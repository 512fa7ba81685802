import { BinaryHeap } from '../common/binary-heap';

/** An item the lease structures hold; once `closed`, they skip it and eventually let go of it. */
export interface Closable {
  readonly closed: boolean;
}

/** What the expiry heap orders by. */
export interface Expiring extends Closable {
  readonly expiresAt: number;
  /** Tie-break so leases expiring in the same ms leave in the order they were opened. */
  readonly seq: number;
}

/**
 * Open leases of one (project, instance) in opening order. Closed entries are skipped lazily at the
 * head; since closes mostly arrive in opening order the head is where they are, and the array is
 * compacted once the dead prefix is at least half of it, so every operation is O(1) amortised.
 */
export class LeaseQueue<T extends Closable> {
  private items: Array<T | undefined> = [];
  private head = 0;

  push(entry: T): void {
    this.items.push(entry);
  }

  oldestOpen(): T | undefined {
    this.trim();
    return this.items[this.head];
  }

  /**
   * The newest open entry whose `key` is at most `limit` (entries are in opening order, so `key`
   * — the opening time — never decreases): scanned from the newest end past the entries opened
   * after it (a closed tail excluded), and O(1) when even the oldest was opened later.
   */
  newestOpenAtOrBefore(limit: number, key: (entry: T) => number): T | undefined {
    const oldest = this.oldestOpen();
    // Nothing opened by then (a call timestamp older than every open lease): no scan at all.
    if (oldest === undefined || key(oldest) > limit) return undefined;
    const items = this.items;
    // Reports that close their own (the newest) lease leave closed entries at the tail: drop them,
    // or every later scan would walk them all (quadratic under a select-then-report load).
    while (items[items.length - 1]!.closed) items.pop();
    // Stryker disable next-line ArithmeticOperator: starting past the end only visits empty slots, which the loop skips
    for (let i = items.length - 1; i >= this.head; i--) {
      const entry = items[i];
      if (entry !== undefined && !entry.closed && key(entry) <= limit) return entry;
    }
    return undefined;
  }

  /** Entries not yet skipped (open ones and closed ones behind an open head). */
  remaining(): Array<T | undefined> {
    return this.items.slice(this.head);
  }

  trim(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head]!.closed) items[this.head++] = undefined;
    if (this.head === items.length) {
      items.length = 0;
      // Stryker disable ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator,BlockStatement: when to compact (the else-if condition below) is memory only; the slice holds the same entries in the same order
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= items.length) {
      // Stryker restore ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator,BlockStatement
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}

/** Open leases of one instance: how many, and a queue per project for reports without a selectionId. */
export class InstanceLeases<T extends Closable> {
  /** Kept by the owner of the entries, which alone knows when one opens or closes. */
  open = 0;
  private readonly byProject = new Map<string, LeaseQueue<T>>();

  /** The project's queue, created on first use. */
  queueOf(projectId: string): LeaseQueue<T> {
    let queue = this.byProject.get(projectId);
    if (queue === undefined) this.byProject.set(projectId, (queue = new LeaseQueue<T>()));
    return queue;
  }

  oldestOpen(projectId: string): T | undefined {
    return this.byProject.get(projectId)?.oldestOpen();
  }

  newestOpenAtOrBefore(projectId: string, limit: number, key: (entry: T) => number): T | undefined {
    return this.byProject.get(projectId)?.newestOpenAtOrBefore(limit, key);
  }

  /** Open entries of every project, copied so the caller may close them while it iterates. */
  openEntries(): T[] {
    const open: T[] = [];
    for (const queue of this.byProject.values()) {
      for (const entry of queue.remaining()) if (entry !== undefined && !entry.closed) open.push(entry);
    }
    return open;
  }
}

/**
 * Open leases of one project on this node: how many (for the per-project cap, O(1)) and, in an
 * expiry heap of their own, which expires first (when the cap frees a slot, O(1) amortised).
 * The owner tells it of each entry that opens (`add`) and of each that closes or expires
 * (`remove`, after marking the entry closed).
 */
export class ProjectLeases<T extends Expiring> {
  private count = 0;
  private readonly heap = new ExpiryHeap<T>();

  get open(): number {
    return this.count;
  }

  add(entry: T): void {
    this.heap.push(entry);
    this.count++;
  }

  /** One of its entries was closed (or expired); returns how many are still open. */
  remove(): number {
    this.heap.noteClosed(1);
    return --this.count;
  }

  /** When its soonest open entry expires, or undefined when none is open. */
  earliestExpiry(): number | undefined {
    return this.heap.peekOpen()?.expiresAt;
  }
}

/** Closed entries left in the heap are purged once they are this many and at least half of it. */
const HEAP_COMPACT_MIN = 1024;

/**
 * Binary min-heap on (`expiresAt`, `seq`), so expiry costs O(k log n) for k due entries, nothing
 * when none is due. Closing an entry does not remove it: the owner reports it with `noteClosed`,
 * and closed entries are skipped when popped or purged by a compaction once they pile up.
 *
 * @example
 * heap.push(entry);
 * for (let due = heap.popDue(now); due !== undefined; due = heap.popDue(now)) expire(due);
 */
export class ExpiryHeap<T extends Expiring> {
  private readonly heap = new BinaryHeap<T>(before);
  private closedInHeap = 0;

  get size(): number {
    return this.heap.size;
  }

  /** Whether the soonest entry, open or closed, has `expiresAt ≤ now`. */
  hasDue(now: number): boolean {
    const top = this.heap.peek();
    return top !== undefined && top.expiresAt <= now;
  }

  push(entry: T): void {
    this.heap.push(entry);
  }

  /** Removes and returns the soonest open entry with `expiresAt ≤ now`, discarding closed ones on the way. */
  popDue(now: number): T | undefined {
    while (this.hasDue(now)) {
      const entry = this.heap.pop()!;
      if (!entry.closed) return entry;
      this.closedInHeap--;
    }
    return undefined;
  }

  /** The soonest open entry (closed ones at the top are discarded on the way), or undefined. O(1) amortised. */
  peekOpen(): T | undefined {
    while (this.heap.peek()?.closed === true) {
      this.heap.pop();
      this.closedInHeap--;
    }
    return this.heap.peek();
  }

  /** `count` entries still in the heap were closed; compacts the heap if they have piled up. */
  noteClosed(count: number): void {
    this.closedInHeap += count;
    if (this.closedInHeap < HEAP_COMPACT_MIN || this.closedInHeap * 2 < this.heap.size) return;
    this.heap.retain((entry) => !entry.closed);
    this.closedInHeap = 0;
  }
}

function before(a: Expiring, b: Expiring): boolean {
  return a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.seq < b.seq);
}

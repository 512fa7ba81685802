import { randomFillSync } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import type { InstanceStats } from '../metrics/instance-stats';
import { InstanceStatsRegistry } from '../metrics/instance-stats-registry';

/** A selection handed out and not yet reported (RESILIENCE.md §4). */
export interface Lease {
  /** 32 lowercase hex characters. */
  readonly selectionId: string;
  readonly projectId: string;
  readonly instanceId: string;
  readonly openedAt: number;
  readonly expiresAt: number;
  /** Tokens reserved against the instance's TPM at decision time (0 if not estimated). */
  readonly tokens: number;
  /** Admitted as a half-open probe: its expiry must free the probe slot. */
  readonly probe: boolean;
}

export interface OpenLeaseRequest {
  readonly projectId: string;
  readonly instanceId: string;
  readonly ttlMs: number;
  readonly tokens?: number;
  readonly probe?: boolean;
}

/** Bookkeeping around a lease; kept apart from it so callers never see (or serialise) the internals. */
interface Entry {
  readonly lease: Lease;
  readonly expiresAt: number;
  /** Tie-break so leases expiring in the same ms leave in the order they were opened. */
  readonly seq: number;
  readonly queue: LeaseQueue;
  readonly owner: InstanceLeases;
  readonly stats: InstanceStats;
  closed: boolean;
}

/**
 * Open leases of one (project, instance) in opening order. Closed entries are skipped lazily at the
 * head; since closes mostly arrive in opening order the head is where they are, and the array is
 * compacted once the dead prefix is at least half of it, so every operation is O(1) amortised.
 */
class LeaseQueue {
  private items: Array<Entry | undefined> = [];
  private head = 0;

  push(entry: Entry): void {
    this.items.push(entry);
  }

  oldestOpen(): Entry | undefined {
    this.trim();
    return this.items[this.head];
  }

  /** Entries not yet skipped (open ones and closed ones behind an open head). */
  remaining(): Array<Entry | undefined> {
    return this.items.slice(this.head);
  }

  trim(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head]!.closed) items[this.head++] = undefined;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}

interface InstanceLeases {
  open: number;
  readonly byProject: Map<string, LeaseQueue>;
}

const NOTHING_EXPIRED: readonly Lease[] = Object.freeze([]);
/** Closed entries left in the heap are purged once they are this many and at least half of it. */
const HEAP_COMPACT_MIN = 1024;

/**
 * Open leases: by id for reports that carry their `selectionId`, per (project, instance) in opening
 * order for reports that do not (the reference protocol closes the oldest), and in a binary min-heap
 * on `expiresAt` so expiry costs O(k log n) for k due leases, nothing when none is due. Each open
 * lease counts in its instance's `openLeases` (maxConcurrency, least-busy).
 *
 * Expiry runs from `open()` (so it never depends on a timer in tests) and from an optional
 * sweeper; both notify `onExpire` listeners, which is where probe slots and TPM reservations of
 * unreported leases must be released.
 *
 * @example
 * const lease = leases.open({ projectId, instanceId, ttlMs: 60_000, probe: true });
 * leases.close(report.selectionId, projectId) ?? leases.closeOldest(projectId, report.instanceId);
 * leases.onExpire((expired) => breaker.releaseProbe(expired));
 */
@Injectable()
export class LeaseManager implements OnModuleDestroy {
  private readonly logger = new Logger(LeaseManager.name);
  private readonly byId = new Map<string, Entry>();
  private readonly byInstance = new Map<string, InstanceLeases>();
  private heap: Entry[] = [];
  private closedInHeap = 0;
  private seq = 0;
  private readonly listeners = new Set<(lease: Lease) => void>();
  private sweeper: NodeJS.Timeout | undefined;
  private unreported = 0;

  constructor(
    @InjectClock() private readonly clock: Clock,
    private readonly statsRegistry: InstanceStatsRegistry,
  ) {}

  get openTotal(): number {
    return this.byId.size;
  }

  /** Leases that expired unreported since start. */
  get unreportedTotal(): number {
    return this.unreported;
  }

  openCount(instanceId: string): number {
    return this.byInstance.get(instanceId)?.open ?? 0;
  }

  open(request: OpenLeaseRequest): Lease {
    const { projectId, instanceId, ttlMs } = request;
    if (!(ttlMs >= 0 && ttlMs < Number.POSITIVE_INFINITY)) throw new RangeError(`ttlMs must be ≥ 0, got ${ttlMs}`);
    const now = this.clock.now();
    this.expireDue(now);
    const lease: Lease = {
      selectionId: newSelectionId(),
      projectId,
      instanceId,
      openedAt: now,
      expiresAt: now + ttlMs,
      tokens: request.tokens ?? 0,
      probe: request.probe ?? false,
    };
    const owner = this.ownerOf(instanceId);
    let queue = owner.byProject.get(projectId);
    if (queue === undefined) owner.byProject.set(projectId, (queue = new LeaseQueue()));
    const stats = this.statsRegistry.get(instanceId);
    const entry: Entry = { lease, expiresAt: lease.expiresAt, seq: this.seq++, queue, owner, stats, closed: false };
    this.byId.set(lease.selectionId, entry);
    queue.push(entry);
    this.heapPush(entry);
    owner.open++;
    stats.incrementLeases();
    return lease;
  }

  /**
   * Closes the lease a report names, only if it belongs to `projectId` (a selectionId is not a
   * capability another tenant can use). A lease past its TTL that no expiry has swept yet can
   * still be closed: its report arrived, which beats counting it as unreported.
   */
  close(selectionId: string, projectId: string): Lease | undefined {
    const entry = this.byId.get(selectionId);
    if (entry === undefined || entry.lease.projectId !== projectId) return undefined;
    this.closeEntry(entry);
    return entry.lease;
  }

  /** The reference protocol: a report without a selectionId closes the oldest open lease. */
  closeOldest(projectId: string, instanceId: string): Lease | undefined {
    const entry = this.byInstance.get(instanceId)?.byProject.get(projectId)?.oldestOpen();
    if (entry === undefined) return undefined;
    this.closeEntry(entry);
    return entry.lease;
  }

  /** Removes and returns every lease with `expiresAt ≤ now`, soonest first, and notifies listeners. */
  expireDue(now: number = this.clock.now()): readonly Lease[] {
    if (this.heap.length === 0 || this.heap[0].expiresAt > now) return NOTHING_EXPIRED;
    const expired: Lease[] = [];
    while (this.heap.length > 0 && this.heap[0].expiresAt <= now) {
      const entry = this.heapPop();
      if (entry.closed) {
        this.closedInHeap--;
        continue;
      }
      this.release(entry);
      expired.push(entry.lease);
    }
    this.unreported += expired.length;
    this.notify(expired);
    return expired;
  }

  /**
   * Returns a function that unsubscribes. Listeners run synchronously after the bookkeeping; one
   * that throws makes the triggering call (`open`, `expireDue`) throw once all have run.
   */
  onExpire(listener: (lease: Lease) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The instance was deleted: its leases go without being counted as unreported. */
  dropInstance(instanceId: string): number {
    const owner = this.byInstance.get(instanceId);
    if (owner === undefined) return 0;
    let dropped = 0;
    for (const queue of owner.byProject.values()) {
      for (const entry of queue.remaining()) {
        if (entry === undefined || entry.closed) continue;
        this.release(entry);
        this.closedInHeap++;
        dropped++;
      }
    }
    this.byInstance.delete(instanceId);
    this.compactHeapIfWorthIt();
    return dropped;
  }

  /** Production safety net for quiet periods with no `open()` calls. The timer never keeps the process alive. */
  startSweeper(intervalMs: number): void {
    this.stopSweeper();
    this.sweeper = setInterval(() => this.sweep(), intervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  onModuleDestroy(): void {
    this.stopSweeper();
  }

  private sweep(): void {
    try {
      this.expireDue();
    } catch (error) {
      // A listener bug must not become an uncaught exception that kills the process.
      this.logger.error({ err: error }, 'An expiry listener failed');
    }
  }

  private ownerOf(instanceId: string): InstanceLeases {
    let owner = this.byInstance.get(instanceId);
    if (owner === undefined) this.byInstance.set(instanceId, (owner = { open: 0, byProject: new Map() }));
    return owner;
  }

  private closeEntry(entry: Entry): void {
    this.release(entry);
    this.closedInHeap++;
    this.compactHeapIfWorthIt();
  }

  /** Marks an entry closed and un-counts it everywhere except the heap (callers account for that). */
  private release(entry: Entry): void {
    entry.closed = true;
    this.byId.delete(entry.lease.selectionId);
    entry.owner.open--;
    entry.queue.trim(); // also on expiry: a silent caller's queue must not grow without bound
    // The stats object captured at open: if the instance's stats were replaced since, the new one
    // never counted this lease and must not be decremented for it.
    entry.stats.decrementLeases();
  }

  /** Every listener sees every lease even if one throws; the first error is rethrown afterwards. */
  private notify(expired: readonly Lease[]): void {
    if (this.listeners.size === 0) return;
    let failure: Error | undefined;
    for (const lease of expired) {
      for (const listener of this.listeners) {
        try {
          listener(lease);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }
      }
    }
    if (failure !== undefined) throw failure;
  }

  private compactHeapIfWorthIt(): void {
    if (this.closedInHeap < HEAP_COMPACT_MIN || this.closedInHeap * 2 < this.heap.length) return;
    this.heap = this.heap.filter((entry) => !entry.closed);
    this.closedInHeap = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private heapPush(entry: Entry): void {
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
  }

  private heapPop(): Entry {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const entry = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = entry;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const entry = heap[index];
    const half = heap.length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      if (child + 1 < heap.length && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], entry)) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = entry;
  }
}

/**
 * `crypto.randomBytes(16).toString('hex')`, but drawn from a pooled CSPRNG buffer (as the uuid
 * package does): one randomBytes call per select costs ~5 µs, a pooled draw under 1 µs.
 */
const ID_BYTES = 16;
const ID_POOL = Buffer.allocUnsafe(ID_BYTES * 256);
let idOffset = ID_POOL.length;

function newSelectionId(): string {
  if (idOffset >= ID_POOL.length) {
    randomFillSync(ID_POOL);
    idOffset = 0;
  }
  const id = ID_POOL.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

function before(a: Entry, b: Entry): boolean {
  return a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.seq < b.seq);
}

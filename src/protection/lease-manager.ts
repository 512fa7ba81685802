import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import type { InstanceStats } from '../statistics/instance-stats';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import {
  InjectLeaseDirectory,
  LeaseDirectory,
  MemoryLeaseDirectory,
  type RelayedLease,
  type RelayedLeaseClose,
} from '../state/lease-directory';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { ExpiryHeap, InstanceLeases, type LeaseQueue, ProjectLeases } from './lease-queues';

/** A selection handed out and not yet reported (docs/resilience.md §4). */
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
  /** The decision's time (defaults to the clock's now), so the caller knows `expiresAt` in advance. */
  readonly at?: number;
}

/** Bookkeeping around a lease; kept apart from it so callers never see (or serialise) the internals. */
interface Entry {
  readonly lease: Lease;
  readonly expiresAt: number;
  /** Tie-break so leases expiring in the same ms leave in the order they were opened. */
  readonly seq: number;
  readonly queue: LeaseQueue<Entry>;
  readonly owner: InstanceLeases<Entry>;
  /** The project's open leases (its count and earliest expiry). */
  readonly project: ProjectLeases<Entry>;
  readonly stats: InstanceStats;
  closed: boolean;
}

const NOTHING_EXPIRED: readonly Lease[] = Object.freeze([]);
const SINGLE_NODE = new MemoryLeaseDirectory();
const openedAtOf = (entry: Entry): number => entry.lease.openedAt;

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
 * In cluster mode the {@link LeaseDirectory} makes the leases of every node one set: ids name the
 * node that opened them, a report this node holds no lease for is relayed to the holder
 * ({@link relayClose}; the holder's `onRelayedClose` listeners settle it), and each instance's
 * `openLeases` adds the leases the other nodes hold.
 *
 * @example
 * const lease = leases.open({ projectId, instanceId, ttlMs: 60_000, probe: true });
 * leases.close(report.selectionId, projectId) ?? leases.closeOldest(projectId, report.instanceId);
 * leases.onExpire((expired) => breaker.releaseProbe(expired));
 */
@Injectable()
export class LeaseManager implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LeaseManager.name);
  private readonly byId = new Map<string, Entry>();
  private readonly byInstance = new Map<string, InstanceLeases<Entry>>();
  private readonly byProject = new Map<string, ProjectLeases<Entry>>();
  private readonly heap = new ExpiryHeap<Entry>();
  private seq = 0;
  private readonly listeners = new Set<(lease: Lease) => void>();
  private readonly relayListeners = new Set<(lease: Lease | undefined, close: RelayedLeaseClose) => void>();
  private sweeper: NodeJS.Timeout | undefined;
  private unreported = 0;
  private readonly stops: (() => void)[] = [];

  constructor(
    @InjectClock() private readonly clock: Clock,
    private readonly statsRegistry: InstanceStatsRegistry,
    @InjectEventBus() private readonly events: EventBus,
    /** Absent (a module without the state seams): one node. */
    @Optional() @InjectLeaseDirectory() private readonly directory: LeaseDirectory = SINGLE_NODE,
  ) {}

  /**
   * Deleted instances' leases go; the sweeper frees unreported ones in quiet periods. Closes
   * relayed by other nodes are applied here, and their open leases counted in each instance's stats.
   */
  onModuleInit(): void {
    this.stops.push(
      forgetDeletedInstances(this.events, (id) => this.dropInstance(id)),
      this.directory.onRelayedClose((close) => this.closeRelayed(close)),
      this.directory.onRemoteOpen((instanceId, open) => {
        const stats = open > 0 ? this.statsRegistry.get(instanceId) : this.statsRegistry.peek(instanceId);
        stats?.setRemoteLeases(open);
      }),
    );
    this.startSweeper(1000);
  }

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

  /** Open leases of a project on this node. O(1). */
  openOfProject(projectId: string): number {
    return this.byProject.get(projectId)?.open ?? 0;
  }

  /** When the project's first open lease on this node expires, if it has any. O(1) amortised. */
  earliestExpiryOfProject(projectId: string): number | undefined {
    return this.byProject.get(projectId)?.earliestExpiry();
  }

  /** When the instance's first open lease expires (frees a concurrency slot), if it has any. O(open leases). */
  earliestExpiry(instanceId: string): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.byInstance.get(instanceId)?.openEntries() ?? []) {
      if (earliest === undefined || entry.expiresAt < earliest) earliest = entry.expiresAt;
    }
    return earliest;
  }

  open(request: OpenLeaseRequest): Lease {
    const { projectId, instanceId, ttlMs } = request;
    if (!(ttlMs >= 0 && ttlMs < Number.POSITIVE_INFINITY)) throw new RangeError(`ttlMs must be ≥ 0, got ${ttlMs}`);
    const now = request.at ?? this.clock.now();
    this.expireDue(now);
    const expiresAt = now + ttlMs;
    const probe = request.probe ?? false;
    const lease: Lease = {
      selectionId: this.directory.newSelectionId({ probe, expiresAt }),
      projectId,
      instanceId,
      openedAt: now,
      expiresAt,
      tokens: request.tokens ?? 0,
      probe,
    };
    const owner = this.ownerOf(instanceId);
    const queue = owner.queueOf(projectId);
    const project = this.projectOf(projectId);
    const stats = this.statsRegistry.get(instanceId);
    const entry: Entry = {
      lease,
      expiresAt: lease.expiresAt,
      seq: this.seq++,
      queue,
      owner,
      project,
      stats,
      closed: false,
    };
    this.byId.set(lease.selectionId, entry);
    queue.push(entry);
    this.heap.push(entry);
    project.add(entry);
    owner.open++;
    stats.incrementLeases(now);
    this.directory.publishOpen(instanceId, owner.open);
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
    const entry = this.byInstance.get(instanceId)?.oldestOpen(projectId);
    if (entry === undefined) return undefined;
    this.closeEntry(entry);
    return entry.lease;
  }

  /**
   * A report without a selectionId whose call started at `startedBy` (its `callTimestamp`; no
   * tolerance: at 100 calls/s a second of slack matches a later caller's lease, and a caller whose
   * clock runs behind ours just falls back to an older lease): closes the newest open lease of the instance opened by then — most likely the
   * caller's own — else the oldest. Closing the oldest (the reference protocol) would retire a
   * silent caller's lease, which expires soon anyway, and keep the reporter's own open for a
   * whole TTL: with both kinds of caller, capacity stays held for nothing.
   */
  closeForCall(projectId: string, instanceId: string, startedBy: number): Lease | undefined {
    const owner = this.byInstance.get(instanceId);
    const entry = owner?.newestOpenAtOrBefore(projectId, startedBy, openedAtOf) ?? owner?.oldestOpen(projectId);
    if (entry === undefined) return undefined;
    this.closeEntry(entry);
    return entry.lease;
  }

  /**
   * A report closed no lease here (`close`, `closeForCall` and `closeOldest` found none): in
   * cluster mode, sends the close to the node that holds the lease. Returns what this node still
   * does for it (see {@link RelayedLease}), or undefined when no other node may hold it (single
   * node, an id this node made, or no other node holds a lease of the instance).
   */
  relayClose(close: RelayedLeaseClose): RelayedLease | undefined {
    return this.directory.relayClose(close);
  }

  /**
   * Listens to closes other nodes relayed here, after the lease (if still open) was closed: the
   * place to settle its token reservation. Returns a function that unsubscribes.
   */
  onRelayedClose(listener: (lease: Lease | undefined, close: RelayedLeaseClose) => void): () => void {
    this.relayListeners.add(listener);
    return () => this.relayListeners.delete(listener);
  }

  /** Removes and returns every lease with `expiresAt ≤ now`, soonest first, and notifies listeners. */
  expireDue(now: number = this.clock.now()): readonly Lease[] {
    if (!this.heap.hasDue(now)) return NOTHING_EXPIRED;
    const expired: Lease[] = [];
    for (let entry = this.heap.popDue(now); entry !== undefined; entry = this.heap.popDue(now)) {
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
    const dropped = owner.openEntries();
    for (const entry of dropped) this.release(entry);
    this.byInstance.delete(instanceId);
    this.heap.noteClosed(dropped.length);
    this.directory.publishOpen(instanceId, 0);
    return dropped.length;
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
    for (const stop of this.stops.splice(0)) stop();
    this.stopSweeper();
  }

  /** Another node's report of a lease held here: closed as a local report would close it. */
  private closeRelayed(close: RelayedLeaseClose): void {
    const { projectId, instanceId, selectionId, callStartedAt } = close;
    const lease =
      selectionId !== undefined
        ? this.close(selectionId, projectId)
        : callStartedAt !== undefined
          ? this.closeForCall(projectId, instanceId, callStartedAt)
          : this.closeOldest(projectId, instanceId);
    for (const listener of this.relayListeners) {
      try {
        listener(lease, close);
      } catch (error) {
        this.logger.error({ err: error }, 'A relayed-close listener failed');
      }
    }
  }

  private sweep(): void {
    try {
      this.expireDue();
    } catch (error) {
      // A listener bug must not become an uncaught exception that kills the process.
      this.logger.error({ err: error }, 'An expiry listener failed');
    }
  }

  private ownerOf(instanceId: string): InstanceLeases<Entry> {
    let owner = this.byInstance.get(instanceId);
    if (owner === undefined) this.byInstance.set(instanceId, (owner = new InstanceLeases<Entry>()));
    return owner;
  }

  private projectOf(projectId: string): ProjectLeases<Entry> {
    let project = this.byProject.get(projectId);
    if (project === undefined) this.byProject.set(projectId, (project = new ProjectLeases<Entry>()));
    return project;
  }

  private closeEntry(entry: Entry): void {
    this.release(entry);
    this.heap.noteClosed(1);
  }

  /** Marks an entry closed and un-counts it everywhere except the heap (callers account for that). */
  private release(entry: Entry): void {
    entry.closed = true;
    this.byId.delete(entry.lease.selectionId);
    entry.owner.open--;
    // A project without open leases is forgotten (its heap holds closed entries only).
    if (entry.project.remove() === 0 && this.byProject.get(entry.lease.projectId) === entry.project) {
      this.byProject.delete(entry.lease.projectId);
    }
    this.directory.publishOpen(entry.lease.instanceId, entry.owner.open);
    // Stryker disable next-line MethodExpression: memory only; every read of the queue trims it first and skips closed entries
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
}

import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  type BreakerKey,
  type BreakerRecord,
  type BreakerRecordView,
  type BreakerStore,
  type BreakerTransition,
  type TransitionSink,
  newBreakerRecord,
} from '../state/breaker-store';
import { ClusterBus } from './cluster-bus';
import { RedisLink } from './redis-link';

/**
 * Compare-and-set of one breaker record: written only if its version is still the one the change
 * was computed from (or, with ARGV[5] = '1', if the record is gone: Redis lost it, and the node
 * writes its copy back under the version it knew, so the others take it); then, if asked, the new
 * record is published in the same atomic step (so every node sees versions in order). Returns
 * {1, version} or {0, version, record}.
 */
const COMPARE_AND_SET = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local expected = tonumber(ARGV[1])
if current ~= expected and not (current == 0 and ARGV[5] == '1') then
  return {0, current, redis.call('HGET', KEYS[1], 'r') or ''}
end
redis.call('HSET', KEYS[1], 'v', expected + 1, 'r', ARGV[2])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return {1, expected + 1}
`;

/** [1, version] when written; [0, version, record] when another version was there. */
type CompareAndSetReply = [number, number, string?];

interface CompareAndSetCommand {
  breakerCompareAndSet(
    key: string,
    expectedVersion: number,
    record: string,
    channel: string,
    announcement: string,
    restore: '0' | '1',
  ): Promise<CompareAndSetReply>;
}

/** A change waiting to be committed: re-run against the shared record until it commits. */
interface Op {
  run(record: BreakerRecord, sink: TransitionSink): void;
  /** Where the committed run's transitions go. */
  readonly sink: TransitionSink;
}

interface Entry {
  readonly key: BreakerKey;
  /** The shared record as last committed or read (or, while Redis was away, this node's own). */
  base: BreakerRecord;
  /** `base` encoded, once known (so an unchanged batch is recognised without encoding it again). */
  baseBlob: string | undefined;
  /** Redis version of `base`; 0: not in Redis as far as this node knows. */
  version: number;
  /** What this node decides from: `base` with every change not yet committed applied. */
  view: BreakerRecord;
  committing: Op[];
  pending: Op[];
  inFlight: boolean;
  /** Changed while Redis was unreachable: written back (if nobody wrote meanwhile) when it returns. */
  dirty: boolean;
}

/** A sink that only notes whether a change made a transition. */
class TransitionWatch implements TransitionSink {
  made = false;

  transition(): void {
    this.made = true;
  }
}

/** A published commit: node, instance, version, record, the transitions it made. */
interface Announcement {
  readonly n: string;
  readonly id: string;
  readonly v: number;
  readonly r: string;
  readonly t: readonly BreakerTransition[];
}

const MUTED: TransitionSink = { transition: () => undefined };
const SCAN_COUNT = 500;
/** How long a change that matters to a decision may wait for others to share its commit. */
const COMMIT_DELAY_MS = 5;
/**
 * How long a quiet change (a success counted while CLOSED, see {@link quietChange}) may wait: under
 * load an instance's successes then share one commit instead of one each. Never longer than one
 * bucket of the instance's failure-rate window (the window of a quiet entry is at least this wide).
 */
const QUIET_COMMIT_DELAY_MS = 250;
/** Deleted instances remembered, so a late announcement cannot bring one back (ids are never reused). */
const TOMBSTONES = 10_000;

/**
 * Cluster mode's breaker store: one breaker per instance for the whole cluster, kept in Redis as a
 * versioned record (`<prefix>breaker:<instance id>`). Reads and changes are synchronous against
 * this node's view: each change is applied here at once (so this node decides on its own reports
 * without waiting), queued, and committed behind the request by compare-and-set. A commit that
 * finds a newer version adopts it and runs its changes again on top, so every node's reports count
 * in one sequence (consecutive failures and the failure-rate window span the cluster), and a
 * transition is decided once: only the committed run's transitions are passed on, by the node that
 * committed them, and published with the record so the other nodes follow within a round trip.
 *
 * Probe slots are part of the record: a node grants one from its view, so nodes granting in the
 * same round trip may together exceed `halfOpenProbes` by at most one each; the record counts
 * every probe granted, so nobody grants more once it has arrived.
 *
 * While Redis is unreachable each node keeps its own record (and passes its transitions on
 * locally); when Redis returns, a record changed meanwhile is written back unless another node
 * wrote first, whose record is then adopted, and every record is read again.
 */
@Injectable()
export class RedisBreakerStore implements BreakerStore, OnModuleInit, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ClusterBreakers');
  private readonly entries = new Map<string, Entry>();
  private readonly remoteListeners = new Set<(transition: BreakerTransition) => void>();
  private readonly channel: string;
  private readonly stops: (() => void)[] = [];
  /** Entries with a change that matters to a decision: committed within COMMIT_DELAY_MS. */
  private readonly due = new Set<Entry>();
  /** Entries with quiet changes only: committed within QUIET_COMMIT_DELAY_MS. */
  private readonly quiet = new Set<Entry>();
  private readonly deleted = new Set<string>();
  private flushScheduled = false;
  private quietFlushScheduled = false;
  private readonly watch = new TransitionWatch();
  /** How long quiet changes wait for their commit (tests lengthen it). */
  quietCommitDelayMs = QUIET_COMMIT_DELAY_MS;
  private readonly onMessage = (channel: string, text: string): void => {
    if (channel === this.channel) this.receive(text);
  };

  constructor(
    private readonly link: RedisLink,
    private readonly bus: ClusterBus,
  ) {
    this.channel = link.key('breakers');
    link.command.defineCommand('breakerCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET });
  }

  async onModuleInit(): Promise<void> {
    this.link.subscriber.on('message', this.onMessage);
    // The bus resyncs after every reconnect (and after a late first connect): subscribe again then.
    this.stops.push(this.bus.onResync(() => this.subscribe().then(() => this.resync())));
    if (this.link.connected) {
      await this.subscribe();
      await this.resync();
    }
  }

  /** A graceful stop commits what this node learned last (for at most a second) before Redis is closed. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.link.connected) return;
    await Promise.race([this.settled(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  }

  onModuleDestroy(): void {
    this.link.subscriber.off('message', this.onMessage);
    for (const stop of this.stops) stop();
  }

  get(instanceId: string): BreakerRecordView | undefined {
    return this.entries.get(instanceId)?.view;
  }

  update<T>(
    key: BreakerKey,
    now: number,
    sink: TransitionSink,
    change: (record: BreakerRecord, sink: TransitionSink) => T,
  ): T {
    const entry = this.entryFor(key, now);
    const view = entry.view;
    const before = quietMarks(view);
    this.watch.made = false;
    const result = change(view, this.watch);
    this.enqueue(entry, { run: change, sink }, !quietChange(before, view, this.watch.made));
    return result;
  }

  onRemoteTransition(listener: (transition: BreakerTransition) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  tryAcquireProbe(instanceId: string, limit: number, expiresAt: number): boolean {
    const entry = this.entries.get(instanceId);
    if (entry === undefined || entry.view.state !== 'HALF_OPEN' || entry.view.probeExpiries.length >= limit) {
      return false;
    }
    const take = (record: BreakerRecord): void => {
      // Granted already: the shared record counts it even if other nodes took the last slots meanwhile.
      if (record.state === 'HALF_OPEN') record.probeExpiries.push(expiresAt);
    };
    take(entry.view);
    this.enqueue(entry, { run: take, sink: MUTED });
    return true;
  }

  forceProbe(instanceId: string, expiresAt: number): void {
    const entry = this.entries.get(instanceId);
    if (entry === undefined) return;
    const take = (record: BreakerRecord): void => void record.probeExpiries.push(expiresAt);
    take(entry.view);
    this.enqueue(entry, { run: take, sink: MUTED });
  }

  releaseProbe(instanceId: string, expiresAt: number): boolean {
    const entry = this.entries.get(instanceId);
    if (entry === undefined) return false;
    const release = (record: BreakerRecord): boolean => {
      const at = record.probeExpiries.indexOf(expiresAt);
      if (at >= 0) record.probeExpiries.splice(at, 1);
      return at >= 0;
    };
    if (!release(entry.view)) return false;
    this.enqueue(entry, { run: release, sink: MUTED });
    return true;
  }

  delete(instanceId: string): void {
    this.deleted.add(instanceId);
    if (this.deleted.size > TOMBSTONES) this.deleted.delete(this.deleted.values().next().value!);
    if (!this.entries.delete(instanceId)) return;
    if (this.link.connected) this.link.command.del(this.recordKey(instanceId)).catch(() => undefined);
  }

  *values(): IterableIterator<BreakerRecordView> {
    for (const entry of this.entries.values()) yield entry.view;
  }

  /**
   * Commits every change made so far, quiet ones without waiting for their delay, and resolves once
   * they are committed (or kept locally while Redis is away). Tests, and a graceful stop.
   */
  async settled(): Promise<void> {
    this.flushQuiet();
    while (this.flushScheduled || [...this.entries.values()].some((e) => e.inFlight || e.pending.length > 0)) {
      await new Promise((resolve) => setImmediate(resolve));
      this.flushQuiet();
    }
  }

  private entryFor(key: BreakerKey, now: number): Entry {
    let entry = this.entries.get(key.instanceId);
    if (entry === undefined) {
      const base = newBreakerRecord(key, now);
      entry = {
        key: { projectId: key.projectId, instanceId: key.instanceId },
        base,
        baseBlob: undefined,
        version: 0,
        view: copy(base),
        committing: [],
        pending: [],
        inFlight: false,
        dirty: false,
      };
      this.entries.set(key.instanceId, entry);
    }
    return entry;
  }

  /**
   * Queues a change for commit: within a few ms when it matters to a decision, within
   * QUIET_COMMIT_DELAY_MS when it is quiet (a quiet change queued behind one that matters goes
   * with it). An entry already committing takes whatever is queued when its commit returns.
   */
  private enqueue(entry: Entry, op: Op, matters = true): void {
    entry.pending.push(op);
    if (!matters) {
      this.quiet.add(entry);
      if (this.quietFlushScheduled) return;
      this.quietFlushScheduled = true;
      setTimeout(() => this.flushQuiet(), this.quietCommitDelayMs).unref();
      return;
    }
    this.due.add(entry);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A few ms of reports per commit: under load one compare-and-set carries many of them.
    setTimeout(() => this.flushDue(), COMMIT_DELAY_MS).unref();
  }

  private flushDue(): void {
    this.flushScheduled = false;
    for (const entry of this.due) if (!entry.inFlight) void this.commit(entry);
    this.due.clear();
  }

  private flushQuiet(): void {
    this.quietFlushScheduled = false;
    for (const entry of this.quiet) if (!entry.inFlight) void this.commit(entry);
    this.quiet.clear();
  }

  /** Commits the entry's queued changes, batch after batch, one compare-and-set in flight at a time. */
  private async commit(entry: Entry): Promise<void> {
    entry.inFlight = true;
    try {
      while ((entry.pending.length > 0 || entry.dirty) && this.entries.get(entry.key.instanceId) === entry) {
        entry.committing = entry.pending;
        entry.pending = [];
        const wroteBack = await this.commitBatch(entry);
        entry.committing = [];
        entry.view = replay(entry.base, entry.pending);
        if (!wroteBack) break; // Redis is away: the batch stays folded into this node's record
      }
    } finally {
      entry.inFlight = false;
    }
  }

  /** One batch until it commits; false when Redis could not be reached (the batch is then kept locally). */
  private async commitBatch(entry: Entry): Promise<boolean> {
    let restore = false;
    for (;;) {
      const draft = copy(entry.base);
      const made: [TransitionSink, BreakerTransition][] = [];
      for (const op of entry.committing) {
        op.run(draft, { transition: (transition) => made.push([op.sink, transition]) });
      }
      const blob = encode(draft);
      if (!entry.dirty && made.length === 0 && blob === (entry.baseBlob ??= encode(entry.base))) return true;
      const announce = restore || made.length > 0 || decides(entry.base) !== decides(draft);
      let reply: CompareAndSetReply;
      try {
        const message: Announcement | undefined = announce
          ? { n: this.link.nodeId, id: entry.key.instanceId, v: entry.version + 1, r: blob, t: made.map((m) => m[1]) }
          : undefined;
        reply = await this.compareAndSet(entry, blob, message, restore);
      } catch {
        entry.base = draft;
        entry.baseBlob = blob;
        entry.dirty = true;
        pass(made);
        return false;
      }
      if (reply[0] === 1) {
        const version = Number(reply[1]);
        // A newer record may have been announced (and adopted) before this reply was read: it
        // already holds this batch, so keep it.
        if (version > entry.version) {
          entry.base = draft;
          entry.baseBlob = blob;
          entry.version = version;
        }
        entry.dirty = false;
        pass(made);
        return true;
      }
      const current = decode(reply[2]);
      if (current === undefined) {
        if (this.deleted.has(entry.key.instanceId)) return true; // deleted meanwhile: nothing to keep
        // The record is gone from Redis (it restarted empty): write this node's copy back.
        restore = true;
        continue;
      }
      // Another node committed first: run the batch again on its record.
      entry.version = Number(reply[1]);
      entry.base = current;
      entry.baseBlob = reply[2];
      entry.dirty = false;
    }
  }

  private receive(text: string): void {
    let message: Partial<Announcement> | null;
    try {
      message = JSON.parse(text) as Partial<Announcement> | null;
    } catch {
      return;
    }
    // Anyone with access to Redis can publish here: take only well-formed announcements.
    if (typeof message !== 'object' || message === null || typeof message.n !== 'string') return;
    if (message.n === this.link.nodeId || !Number.isSafeInteger(message.v)) return;
    const record = decode(typeof message.r === 'string' ? message.r : undefined);
    if (record === undefined) return;
    this.adopt(record, message.v!);
    if (!Array.isArray(message.t)) return;
    for (const transition of message.t as unknown[]) {
      if (typeof transition !== 'object' || transition === null) continue;
      if ((transition as Partial<BreakerTransition>).instanceId !== record.instanceId) continue;
      const remote: BreakerTransition = { ...(transition as BreakerTransition), remote: true };
      for (const listener of this.remoteListeners) {
        try {
          listener(remote);
        } catch (error) {
          this.logger.error({ err: error }, 'A remote transition listener failed');
        }
      }
    }
  }

  /** Takes a newer shared record; this node's uncommitted changes stay applied on top of it. */
  private adopt(record: BreakerRecord, version: number): void {
    if (this.deleted.has(record.instanceId)) return;
    const entry = this.entryFor(record, record.since);
    if (version <= entry.version || entry.dirty) return;
    entry.base = record;
    entry.baseBlob = undefined;
    entry.version = version;
    entry.view = replay(record, [...entry.committing, ...entry.pending]);
  }

  /** After a gap: records changed here while Redis was away are written back, then every record is read. */
  private async resync(): Promise<void> {
    for (const entry of this.entries.values()) {
      if (entry.dirty && !entry.inFlight) await this.commit(entry);
    }
    const pattern = this.link.key('breaker', '*');
    let cursor = '0';
    do {
      const [next, keys] = await this.link.command.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.link.command.pipeline();
      for (const key of keys) pipeline.hmget(key, 'v', 'r');
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error !== null) continue;
        const [version, blob] = value as [string | null, string | null];
        const record = decode(blob ?? undefined);
        if (record !== undefined) this.adopt(record, Number(version));
      }
    } while (cursor !== '0');
  }

  private compareAndSet(
    entry: Entry,
    blob: string,
    message: Announcement | undefined,
    restore: boolean,
  ): Promise<CompareAndSetReply> {
    const command = this.link.command as unknown as CompareAndSetCommand;
    const announcement = message === undefined ? '' : JSON.stringify(message);
    return command.breakerCompareAndSet(
      this.recordKey(entry.key.instanceId),
      entry.version,
      blob,
      this.channel,
      announcement,
      restore ? '1' : '0',
    );
  }

  private subscribe(): Promise<unknown> {
    return this.link.subscriber.subscribe(this.channel).catch(() => undefined);
  }

  private recordKey(instanceId: string): string {
    return this.link.key('breaker', instanceId);
  }
}

/** What {@link quietChange} compares, read before a change. */
export interface QuietMarks {
  readonly closed: boolean;
  readonly probes: number;
  readonly head: number | undefined;
  readonly failures: number;
  readonly slow: number;
}

export function quietMarks(record: BreakerRecord): QuietMarks {
  const window = record.window;
  return {
    closed: record.state === 'CLOSED' && record.operator === null,
    probes: record.probeExpiries.length,
    head: window?.head,
    failures: window?.failures ?? 0,
    slow: window?.slow ?? 0,
  };
}

/**
 * Whether a change can wait QUIET_COMMIT_DELAY_MS for its commit: the breaker was and stays CLOSED
 * without an operator state, no transition, no probe slot taken or freed, no consecutive failure,
 * and nothing but a fast success (or nothing) added to a window whose buckets are at least that
 * wide. Everything that moves a breaker towards a trip, or changes what a selection reads, is
 * committed at once. The other nodes' counts of successes are then behind by at most one bucket.
 */
export function quietChange(before: QuietMarks, after: BreakerRecord, transitioned: boolean): boolean {
  if (!before.closed || transitioned || after.state !== 'CLOSED' || after.operator !== null) return false;
  if (after.consecutive !== 0 || after.probeExpiries.length !== before.probes) return false;
  const window = after.window;
  if (window === null) return before.head === undefined;
  if (window.widthMs < QUIET_COMMIT_DELAY_MS) return false;
  if (window.head === before.head) return window.failures === before.failures && window.slow === before.slow;
  // A new newest bucket: quiet when it holds no failure and no slow call (60 × [calls, failures, slow]).
  const newest = (window.head % (window.buckets.length / 3)) * 3;
  return window.buckets[newest + 1] === 0 && window.buckets[newest + 2] === 0;
}

function pass(made: readonly [TransitionSink, BreakerTransition][]): void {
  for (const [sink, transition] of made) sink.transition(transition);
}

/** The fields a selection decides on: when they change, every node must hear at once. */
function decides(record: BreakerRecord): string {
  return `${record.state}|${record.operator}|${record.openUntil}|${record.probeExpiries.length}`;
}

function replay(base: BreakerRecord, ops: readonly Op[]): BreakerRecord {
  const view = copy(base);
  for (const op of ops) op.run(view, MUTED);
  return view;
}

function copy(record: BreakerRecord): BreakerRecord {
  return {
    ...record,
    probeExpiries: [...record.probeExpiries],
    window: record.window === null ? null : { ...record.window, buckets: record.window.buckets.slice() },
  };
}

function encode(record: BreakerRecord): string {
  return JSON.stringify({
    ...record,
    window: record.window === null ? null : { ...record.window, buckets: Array.from(record.window.buckets) },
  });
}

function decode(blob: string | undefined): BreakerRecord | undefined {
  if (blob === undefined || blob === '') return undefined;
  try {
    const raw = JSON.parse(blob) as Omit<BreakerRecord, 'window'> & {
      window: (Omit<NonNullable<BreakerRecord['window']>, 'buckets'> & { buckets: number[] }) | null;
    };
    if (typeof raw.instanceId !== 'string' || typeof raw.state !== 'string' || !Array.isArray(raw.probeExpiries)) {
      return undefined;
    }
    return {
      ...raw,
      window: raw.window === null ? null : { ...raw.window, buckets: Float64Array.from(raw.window.buckets) },
    };
  } catch {
    return undefined;
  }
}

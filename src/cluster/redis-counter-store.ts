import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { type CounterSpace, type CounterStore, Deadlines, type DeadlineSpace } from '../state/counter-store';
import { ClusterBus } from './cluster-bus';
import { LuaScript } from './lua-script';
import { RedisLink } from './redis-link';

const BUCKETS = 60;
const BUCKET_MS = 1000;
const WINDOW_MS = BUCKETS * BUCKET_MS;
/** How often a counter someone reads is refreshed from Redis, and the timer's period. */
export const SYNC_INTERVAL_MS = 250;
/** A counter's Redis hash outlives its newest second by this much. */
const KEY_TTL_MS = 2 * WINDOW_MS;
/** A counter nobody read or added to for this long is no longer refreshed (and dropped once empty). */
const IDLE_MS = WINDOW_MS;
/** Retry hint while only this node's unconfirmed adds (counted for every node) stand in the way. */
const RETRY_HINT_MS = 100;
/** A refused decision syncs its counter at once, at most this often. */
const MIN_RESYNC_MS = 0;
/** Keys per script call, so a resync of many counters does not block Redis for long. */
const MAX_KEYS_PER_CALL = 500;
/** Bus message: a deadline moved, `[space, id, until]`. */
const DEADLINE = 'counter.deadline';

const COUNTER_SPACES: readonly CounterSpace[] = ['rpm', 'tpm'];
const DEADLINE_SPACES: readonly DeadlineSpace[] = ['cooldown'];

/**
 * One sync of many counters: adds this node's pending amounts to their per-second fields, drops
 * the fields that left the window, and returns each hash's remaining fields (`[second, sum, …]`).
 * ARGV: oldest second in the window, key TTL in ms, then per key: n, then n pairs (second, amount).
 */
const SYNC = new LuaScript(`
local oldest = tonumber(ARGV[1])
local ttl = ARGV[2]
local at = 3
local out = {}
for k = 1, #KEYS do
  local key = KEYS[k]
  local n = tonumber(ARGV[at])
  at = at + 1
  for _ = 1, n do
    if tonumber(ARGV[at]) >= oldest then redis.call('HINCRBYFLOAT', key, ARGV[at], ARGV[at + 1]) end
    at = at + 2
  end
  if n > 0 then redis.call('PEXPIRE', key, ttl) end
  local fields = redis.call('HGETALL', key)
  local kept = {}
  for f = 1, #fields, 2 do
    if tonumber(fields[f]) < oldest then
      redis.call('HDEL', key, fields[f])
    else
      kept[#kept + 1] = fields[f]
      kept[#kept + 1] = fields[f + 1]
    end
  end
  out[k] = kept
end
return out
`);

/**
 * Moves one deadline later (never earlier), forgets passed ones, and keeps the hash only as long
 * as its latest deadline. KEYS[1]: the space's hash; ARGV: id, until (epoch ms), now (epoch ms).
 */
const EXTEND_DEADLINE = new LuaScript(`
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
local now = tonumber(ARGV[3])
local fields = redis.call('HGETALL', KEYS[1])
local latest = 0
for f = 1, #fields, 2 do
  local until_ = tonumber(fields[f + 1])
  if until_ <= now then redis.call('HDEL', KEYS[1], fields[f]) elseif until_ > latest then latest = until_ end
end
if latest > now then redis.call('PEXPIRE', KEYS[1], math.floor(latest - now) + 1000) end
return 1
`);

/** Amounts of one second not yet confirmed by Redis, increases and decreases apart. */
interface Pending {
  up: number;
  down: number;
}

type Batch = Map<number, Pending>;

/**
 * One rolling minute (1 s buckets) of one (space, id) as this node sees the cluster's: the buckets
 * Redis returned at the last sync, plus this node's adds Redis has not confirmed yet. Unconfirmed
 * increases count `spread` times (the number of live nodes): while this node cannot see what the
 * others add, it assumes each of them adds as much as it does, so nodes deciding at the same time
 * share what is left instead of each taking all of it. `total` is O(1) and allocates nothing.
 *
 * @example
 * counter.add(now, 1, now);
 * counter.total(now, 3); // seen + 3 × unconfirmed increases + unconfirmed decreases
 */
export class SharedCounter {
  private readonly seen = new Float64Array(BUCKETS);
  private seenSum = 0;
  private readonly up = new Float64Array(BUCKETS);
  private upSum = 0;
  private readonly down = new Float64Array(BUCKETS);
  private downSum = 0;
  /** The increases the last reply confirmed: the others' of the same moment may not have landed yet. */
  private readonly echo = new Float64Array(BUCKETS);
  private echoSum = 0;
  /** Epoch second of the newest bucket; the window holds seconds (head − 60, head]. */
  private head = Number.NEGATIVE_INFINITY;
  private unsent: Batch = new Map();
  private readonly inflight: Batch[] = [];
  /** Real time (ms) of the last read or add. */
  usedAt = 0;
  /** Real time (ms) of the last reply from Redis. */
  syncedAt = Number.NEGATIVE_INFINITY;
  /** In the queue of the next sync. */
  queued = false;
  /** Syncs of this counter sent and not answered yet. */
  syncing = 0;

  constructor(
    readonly space: CounterSpace,
    readonly id: string,
    /** Its Redis hash. */
    readonly key: string,
  ) {}

  /** Adds not yet sent to Redis. */
  get hasUnsent(): boolean {
    return this.unsent.size > 0;
  }

  /** Whether {@link total} counts anything more than once (unconfirmed or just confirmed increases). */
  get inflated(): boolean {
    return this.upSum > 1e-9 || this.echoSum > 1e-9;
  }

  /** Adds Redis has not confirmed (unsent or on their way). */
  get unconfirmed(): boolean {
    return this.unsent.size > 0 || this.inflight.length > 0;
  }

  /** Adds `amount` to the second of `at` if it is in the window ending at `now`; false otherwise. */
  add(at: number, amount: number, now: number): boolean {
    this.advance(now);
    const second = Math.floor(at / BUCKET_MS);
    if (second <= this.head - BUCKETS || second > this.head || amount === 0 || !Number.isFinite(amount)) return false;
    const i = second % BUCKETS;
    let pending = this.unsent.get(second);
    if (pending === undefined) this.unsent.set(second, (pending = { up: 0, down: 0 }));
    if (amount > 0) {
      this.up[i] += amount;
      this.upSum += amount;
      pending.up += amount;
    } else {
      this.down[i] += amount;
      this.downSum += amount;
      pending.down += amount;
    }
    return true;
  }

  /**
   * Sum over the window ending at `now`: unconfirmed increases counted `spread` times, those the
   * last reply confirmed `spread − 1` more times (until the next reply). `spread` 1: the plain sum.
   */
  total(now: number, spread: number): number {
    this.advance(now);
    const sum = this.seenSum + spread * this.upSum + this.downSum + (spread - 1) * this.echoSum;
    return sum > 1e-9 ? sum : 0;
  }

  /** Milliseconds from `now` until {@link total} is at most `target`. */
  msUntilAtMost(now: number, target: number, spread: number): number {
    this.advance(now);
    let remaining = this.seenSum + spread * this.upSum + this.downSum + (spread - 1) * this.echoSum;
    if (remaining <= target + 1e-9) return 0;
    for (let second = this.head - BUCKETS + 1; second <= this.head; second++) {
      const i = second % BUCKETS;
      remaining -= this.seen[i] + spread * this.up[i] + this.down[i] + (spread - 1) * this.echo[i];
      if (remaining <= target + 1e-9) return Math.max(0, (second + BUCKETS) * BUCKET_MS - now);
    }
    return WINDOW_MS;
  }

  /** Nothing in the window and nothing to send. */
  isEmpty(now: number): boolean {
    return !this.unconfirmed && this.total(now, 1) === 0;
  }

  /** Takes the unsent adds for a sync (they stay counted as unconfirmed until its reply). */
  send(): Batch | undefined {
    if (this.unsent.size === 0) return undefined;
    const batch = this.unsent;
    this.unsent = new Map();
    for (const second of batch.keys()) if (second <= this.head - BUCKETS) batch.delete(second);
    this.inflight.push(batch);
    return batch;
  }

  /**
   * A sync's reply: the cluster's buckets (`[second, sum, …]`, this batch included) replace the
   * seen ones, and the batch is no longer unconfirmed. Replies come in the order of the syncs.
   */
  acknowledge(batch: Batch | undefined, fields: readonly unknown[], now: number): void {
    this.advance(now);
    this.echo.fill(0);
    this.echoSum = 0;
    if (batch !== undefined) {
      this.dropInflight(batch);
      for (const [second, pending] of batch) {
        if (second <= this.head - BUCKETS || second > this.head) continue;
        const i = second % BUCKETS;
        this.up[i] -= pending.up;
        this.upSum -= pending.up;
        this.down[i] -= pending.down;
        this.downSum -= pending.down;
        this.echo[i] += pending.up;
        this.echoSum += pending.up;
      }
    }
    this.seen.fill(0);
    this.seenSum = 0;
    for (let f = 0; f + 1 < fields.length; f += 2) {
      const second = Number(fields[f]);
      const value = Number(fields[f + 1]);
      if (!Number.isInteger(second) || !Number.isFinite(value)) continue;
      if (second <= this.head - BUCKETS || second > this.head) continue; // a clock ahead of ours: seen next sync
      this.seen[second % BUCKETS] += value;
      this.seenSum += value;
    }
    if (!this.unconfirmed) {
      // Nothing pending: clear the rounding left by the subtractions.
      this.up.fill(0);
      this.down.fill(0);
      this.upSum = 0;
      this.downSum = 0;
    }
  }

  /** A sync failed: its adds are unsent again (still counted as unconfirmed). */
  retry(batch: Batch): void {
    this.dropInflight(batch);
    for (const [second, pending] of batch) {
      const into = this.unsent.get(second);
      if (into === undefined) this.unsent.set(second, pending);
      else {
        into.up += pending.up;
        into.down += pending.down;
      }
    }
  }

  private dropInflight(batch: Batch): void {
    const at = this.inflight.indexOf(batch);
    if (at >= 0) this.inflight.splice(at, 1);
  }

  private advance(now: number): void {
    const second = Math.floor(now / BUCKET_MS);
    if (second <= this.head) return;
    if (second - this.head >= BUCKETS) {
      this.seen.fill(0);
      this.up.fill(0);
      this.down.fill(0);
      this.echo.fill(0);
      this.seenSum = this.upSum = this.downSum = this.echoSum = 0;
    } else {
      for (let s = this.head + 1; s <= second; s++) {
        const i = s % BUCKETS;
        this.seenSum -= this.seen[i];
        this.upSum -= this.up[i];
        this.downSum -= this.down[i];
        this.echoSum -= this.echo[i];
        this.seen[i] = this.up[i] = this.down[i] = this.echo[i] = 0;
      }
    }
    this.head = second;
  }
}

/**
 * The {@link CounterStore} of cluster mode: RPM/TPM quotas and RATE_LIMITED cool-downs hold for
 * the whole cluster (docs/resilience.md §3), and every method stays synchronous on local memory.
 *
 * **Counters.** Each (space, instance) is a Redis hash `<prefix>ctr:<space>:<id>` of per-second
 * sums (expiring 2 min after its last add). A node's adds are sent once per turn of the event loop
 * — one script call for every counter touched in that turn — and the reply brings back the
 * cluster's seconds for those counters, so the local view is the cluster's buckets as last seen
 * plus this node's adds not yet confirmed (see {@link SharedCounter}: counted once per live node,
 * which makes nodes deciding at the same moment share the remainder). A counter somebody reads is
 * refreshed at least every {@link SYNC_INTERVAL_MS} and on its first read.
 *
 * Staleness: what other nodes added since this node's last sync of a counter — at most
 * {@link SYNC_INTERVAL_MS} old plus a round trip, usually one turn. Counting its own recent adds
 * once per node stands in for it: decisions spread over the nodes one after another stop at the
 * limit, decisions made in the same instant share what is left, and only nodes whose bursts differ
 * a lot within one round trip can overshoot (measured: 60–63 of `rpmLimit` 60 with 120 selections
 * over three processes at up to 120 at once; a few more in rare runs).
 *
 * Why not borrow batches of quota: a node must answer its first request without waiting, so it
 * needs a share it may grant before Redis answers anyway; counting unconfirmed adds per node is
 * that share, adjusts itself to the traffic, and strands no borrowed quota on an idle node.
 *
 * **Deadlines** (cool-downs) go to every node at once over the {@link ClusterBus}, and to a Redis
 * hash `<prefix>deadline:<space>` (id → until, kept as long as its latest deadline) from which a
 * starting or resynchronising node loads them.
 *
 * **Redis down**: counting goes on locally; unconfirmed increases keep counting once per node
 * known before the outage (each node keeps to its share of what was left) and are sent when Redis
 * returns, with the deadlines set meanwhile. A sync whose reply was lost after Redis applied it is
 * sent again (counted twice): the error is on the safe side.
 */
@Injectable()
export class RedisCounterStore implements CounterStore, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Counters');
  private readonly counters: Record<CounterSpace, Map<string, SharedCounter>> = { rpm: new Map(), tpm: new Map() };
  private readonly deadlines = new Deadlines();
  /** Deadlines set while Redis could not take them. */
  private readonly unwritten: Record<DeadlineSpace, Map<string, number>> = { cooldown: new Map() };
  private queue: SharedCounter[] = [];
  private flushScheduled = false;
  /** Live nodes as last known while connected (frozen during an outage). */
  private spread = 1;
  /** Real time of the last tick: cheap "recently used" marks on the hot path. */
  private tickAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly stops: (() => void)[] = [];
  private failing = false;

  constructor(
    private readonly link: RedisLink,
    private readonly bus: ClusterBus,
    @InjectClock() private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.stops.push(
      this.bus.on(DEADLINE, (data) => this.receiveDeadline(data)),
      this.bus.onResync(() => this.resync()),
      this.link.onUp(() => {
        this.writeUnwritten();
        this.resync();
      }),
    );
    this.timer = setInterval(() => this.tick(), SYNC_INTERVAL_MS);
    this.timer.unref();
    if (this.link.connected) void this.loadDeadlines();
  }

  onModuleDestroy(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    void Promise.all(this.flush());
  }

  /** Live nodes the unconfirmed increases are counted for. */
  get nodes(): number {
    return this.spread;
  }

  add(space: CounterSpace, id: string, at: number, amount: number, now: number): void {
    const counter = this.counterOf(space, id);
    counter.usedAt = this.tickAt;
    if (counter.add(at, amount, now)) this.enqueue(counter);
  }

  total(space: CounterSpace, id: string, now: number): number {
    const counter = this.counterOf(space, id);
    counter.usedAt = this.tickAt;
    return counter.total(now, this.spread);
  }

  msUntilAtMost(space: CounterSpace, id: string, now: number, target: number): number {
    const counter = this.counters[space].get(id);
    if (counter === undefined) return 0;
    const ms = counter.msUntilAtMost(now, target, this.spread);
    // Only this node's own recent adds, counted for every node, stand in the way: a sync (a round
    // trip) tells whether the others really added as much, so retry soon, and sync now.
    if (ms > RETRY_HINT_MS && counter.inflated && this.link.connected && counter.total(now, 1) <= target) {
      const real = Date.now();
      if (counter.syncing === 0 && real - counter.syncedAt >= MIN_RESYNC_MS) this.enqueue(counter);
      return RETRY_HINT_MS;
    }
    return ms;
  }

  deadline(space: DeadlineSpace, id: string, now: number): number | undefined {
    return this.deadlines.ahead(space, id, now);
  }

  extendDeadline(space: DeadlineSpace, id: string, until: number): number {
    if (!this.deadlines.extend(space, id, until)) return this.deadlines.current(space, id)!;
    this.bus.send(DEADLINE, [space, id, until]);
    this.writeDeadline(space, id, until);
    return until;
  }

  forget(id: string): void {
    for (const space of COUNTER_SPACES) this.counters[space].delete(id);
    this.deadlines.forget(id);
    for (const space of DEADLINE_SPACES) this.unwritten[space].delete(id);
    if (!this.link.connected) return;
    const command = this.link.command;
    command.del(...COUNTER_SPACES.map((space) => this.link.key('ctr', space, id))).catch(() => undefined);
    for (const space of DEADLINE_SPACES) {
      command.hdel(this.link.key('deadline', space), id).catch(() => undefined);
    }
  }

  /**
   * Sends every pending add and refreshes every counter now; resolves when Redis answered (or
   * could not). For tests and shutdown; the store syncs by itself.
   */
  async syncNow(): Promise<void> {
    for (const space of COUNTER_SPACES) for (const counter of this.counters[space].values()) this.enqueue(counter);
    await Promise.all(this.flush());
  }

  /** Reloads the deadlines from Redis (after a resync, or at start). */
  async loadDeadlines(): Promise<void> {
    for (const space of DEADLINE_SPACES) {
      let fields: Record<string, string>;
      try {
        fields = await this.link.command.hgetall(this.link.key('deadline', space));
      } catch {
        return; // Redis went away again: the next resync loads them
      }
      for (const [id, value] of Object.entries(fields)) this.extendLocal(space, id, Number(value));
    }
  }

  private counterOf(space: CounterSpace, id: string): SharedCounter {
    const counters = this.counters[space];
    let counter = counters.get(id);
    if (counter === undefined) {
      counter = new SharedCounter(space, id, this.link.key('ctr', space, id));
      counters.set(id, counter);
      this.enqueue(counter); // first look: load what the cluster counted
    }
    return counter;
  }

  private enqueue(counter: SharedCounter): void {
    if (!counter.queued) {
      counter.queued = true;
      this.queue.push(counter);
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** One script call per {@link MAX_KEYS_PER_CALL} queued counters; returns the calls. */
  private flush(): Promise<void>[] {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (const counter of queue) counter.queued = false;
    // Down: the adds stay unsent; the link's up listener sends them.
    if (queue.length === 0 || !this.link.connected) return [];
    const calls: Promise<void>[] = [];
    for (let from = 0; from < queue.length; from += MAX_KEYS_PER_CALL) {
      calls.push(this.sync(queue.slice(from, from + MAX_KEYS_PER_CALL)));
    }
    return calls;
  }

  private async sync(queued: readonly SharedCounter[]): Promise<void> {
    const counters = queued.filter((counter) => this.counters[counter.space].get(counter.id) === counter);
    if (counters.length === 0) return;
    const oldest = Math.floor(this.clock.now() / BUCKET_MS) - BUCKETS + 1;
    const keys: string[] = [];
    const args: (string | number)[] = [oldest, KEY_TTL_MS];
    const batches: (Batch | undefined)[] = [];
    for (const counter of counters) {
      counter.syncing++;
      const batch = counter.send();
      keys.push(counter.key);
      batches.push(batch);
      if (batch === undefined) {
        args.push(0);
        continue;
      }
      args.push(batch.size);
      for (const [second, pending] of batch) args.push(second, pending.up + pending.down);
    }
    let reply: unknown;
    try {
      reply = await SYNC.run(this.link.command, keys, args);
    } catch (error) {
      counters.forEach((counter, i) => {
        counter.syncing--;
        const batch = batches[i];
        if (batch !== undefined) counter.retry(batch);
      });
      if (!this.failing) {
        this.failing = true;
        this.logger.warn({ err: error }, 'Counting in Redis failed: counting locally, sending again');
      }
      return;
    }
    this.failing = false;
    const rows = Array.isArray(reply) ? (reply as unknown[]) : [];
    const now = this.clock.now();
    const real = Date.now();
    counters.forEach((counter, i) => {
      counter.syncing--;
      if (this.counters[counter.space].get(counter.id) !== counter) return; // forgotten meanwhile
      const fields = rows[i];
      counter.acknowledge(batches[i], Array.isArray(fields) ? (fields as unknown[]) : [], now);
      counter.syncedAt = real;
    });
  }

  /** Every {@link SYNC_INTERVAL_MS}: refresh counters in use, resend failed adds, drop idle counters. */
  private tick(): void {
    const real = Date.now();
    this.tickAt = real;
    if (!this.link.connected) return;
    this.spread = Math.max(1, this.bus.nodes(real).length);
    const now = this.clock.now();
    for (const space of COUNTER_SPACES) {
      const counters = this.counters[space];
      for (const [id, counter] of counters) {
        if (counter.hasUnsent) this.enqueue(counter);
        else if (real - counter.usedAt > IDLE_MS) {
          if (counter.isEmpty(now)) counters.delete(id);
        } else if (counter.syncing === 0 && real - counter.syncedAt >= SYNC_INTERVAL_MS) this.enqueue(counter);
      }
    }
  }

  private resync(): void {
    void this.loadDeadlines();
    for (const space of COUNTER_SPACES) for (const counter of this.counters[space].values()) this.enqueue(counter);
  }

  private extendLocal(space: DeadlineSpace, id: string, until: number): void {
    if (!Number.isFinite(until)) return;
    this.deadlines.extend(space, id, until);
  }

  private receiveDeadline(data: unknown): void {
    if (!Array.isArray(data)) return;
    const [space, id, until] = data as unknown[];
    if (!DEADLINE_SPACES.includes(space as DeadlineSpace) || typeof id !== 'string' || typeof until !== 'number') {
      return;
    }
    this.extendLocal(space as DeadlineSpace, id, until);
  }

  private writeDeadline(space: DeadlineSpace, id: string, until: number): void {
    if (!this.link.connected) {
      this.unwritten[space].set(id, Math.max(until, this.unwritten[space].get(id) ?? 0));
      return;
    }
    EXTEND_DEADLINE.run(this.link.command, [this.link.key('deadline', space)], [id, until, this.clock.now()]).catch(
      () => this.unwritten[space].set(id, Math.max(until, this.unwritten[space].get(id) ?? 0)),
    );
  }

  private writeUnwritten(): void {
    const now = this.clock.now();
    for (const space of DEADLINE_SPACES) {
      const pending = [...this.unwritten[space]];
      this.unwritten[space].clear();
      for (const [id, until] of pending) if (until > now) this.writeDeadline(space, id, until);
    }
  }
}

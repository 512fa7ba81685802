import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { APP_CONFIG, type LimitsConfig } from '../config/app-config';
import { EventBus, InjectEventBus, forgetDeletedProjects } from '../state/event-bus';
import {
  type AffinityBinding,
  AffinityBindings,
  type AffinityStore,
  MAX_AFFINITY_BINDINGS,
} from '../state/affinity-store';
import { ClusterBus } from './cluster-bus';
import { RedisLink } from './redis-link';

/** One binding as this node caches it: the instance, its expiry, and what sharing it needs. */
interface SharedBinding extends AffinityBinding {
  /** When this instance was bound to the key (epoch ms on the binding node); orders concurrent binds. */
  since: number;
  /** The node that bound it; breaks a tie of `since`. */
  origin: string;
  /** The expiry the other nodes and Redis were last told of (epoch ms, this node's clock). */
  sharedUntil: number;
}

/** A bind, rebind or refresh on the bus: [key, instance id, ms left, since, origin node]. */
type BindMessage = readonly [string, string, number, number, string];

const BIND = 'affinity.bind';
const UNBIND = 'affinity.unbind';
/**
 * A binding refreshed by use is told to the others only once its expiry moved by this share of
 * the TTL: refresh-on-use would otherwise send a message per select. The others may so forget a
 * binding up to this share of its TTL early, if it is used on one node only and then idles.
 */
const REFRESH_FRACTION = 0.1;
/** Bindings whose write to Redis failed, kept (bounded) to be written when Redis returns. */
const MAX_UNSYNCED = 100_000;
const SCAN_COUNT = 1000;
/** How long a starting node waits for the bindings in Redis before it serves (then loads on). */
const INITIAL_LOAD_WAIT_MS = 2000;

/**
 * Sets a binding in Redis unless it holds a newer one of another instance (the same rule as
 * {@link RedisAffinityStore.adopt}: node ids compare byte-wise, as JavaScript compares ASCII); the same
 * instance only has its expiry extended. KEYS[1] the key; ARGV: since, origin, instance id, ms to
 * live. Value: "<since> <origin> <instance>".
 */
const SET_IF_NEWER = `
local function greater(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local current = redis.call('GET', KEYS[1])
local px = tonumber(ARGV[4])
if current then
  local since, origin, instance = string.match(current, '^(%d+) (%S+) (.*)$')
  if instance == ARGV[3] then
    if redis.call('PTTL', KEYS[1]) < px then redis.call('PEXPIRE', KEYS[1], px) end
    return 0
  end
  if since then
    local mine = tonumber(ARGV[1])
    local theirs = tonumber(since)
    if theirs > mine or (theirs == mine and greater(origin, ARGV[2])) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3], 'PX', px)
return 1
`;

/**
 * Deletes a binding a node evicted for room, unless it is bound to another instance by now (a
 * rebind elsewhere, which must survive). KEYS[1] the key; ARGV[1] the evicted binding's instance.
 */
const DELETE_IF_BOUND_TO = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local instance = string.match(current, '^%d+ %S+ (.*)$')
if instance == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The commands defined on the link's client for {@link SET_IF_NEWER} and {@link DELETE_IF_BOUND_TO}, as queued on a pipeline. */
interface AffinityPipeline {
  gatewayAffinitySet(key: string, since: number, origin: string, instanceId: string, ttlMs: number): AffinityPipeline;
  gatewayAffinityDelete(key: string, instanceId: string): AffinityPipeline;
}

/**
 * Affinity of cluster mode: the bindings of every node, cached here. `get` and `set` answer from
 * the local cache (the same capped map as the memory store) and never wait for Redis. A new
 * binding or a rebind goes to the other nodes at once over the {@link ClusterBus} and into Redis
 * (`<prefix>aff:<key>`, with the TTL as PX expiry); a refresh by use only when it moved the expiry by
 * a tenth of the TTL. Redis is what a node loads when it starts or resynchronises (SCAN).
 *
 * Two nodes binding one key at once: the later bind wins everywhere (its bind time, then its node
 * id, decide; a rebind is always later than the binding it replaces), in memory and in Redis.
 *
 * Caps: the cache is the memory store's least-recently-used map per project
 * (`GATEWAY_MAX_AFFINITY_PER_PROJECT`). In Redis each binding is a key with its TTL, so it is
 * bounded in time; a binding a node evicts for room is also deleted from Redis (unless bound to
 * another instance by then), so Redis holds about the per-project cap per project too rather
 * than everything bound within a TTL. Every node hears every bind, so the nodes evict alike; a
 * binding evicted on one node and still used on another is written again by that node's next
 * refresh. Evictions while Redis is away are not replayed: those keys expire with their TTL.
 *
 * @example
 * // node A
 * affinity.set('p|chat|gpt|session|42', 'inst-1', 1_800_000, now);
 * // node B, a moment later
 * affinity.get('p|chat|gpt|session|42', now); // 'inst-1'
 */
@Injectable()
export class RedisAffinityStore implements AffinityStore, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Affinity');
  /** The local cache: the memory store's capped map (same cap, same eviction). */
  private readonly cache: AffinityBindings<SharedBinding>;
  private readonly keyPrefix: string;
  /** Writes to Redis waiting for the end of this turn of the event loop (one pipeline). */
  private pending: (readonly [string, SharedBinding])[] = [];
  /** Bindings evicted for room, to delete from Redis in the same pipeline: [key, instance id]. */
  private evicted: (readonly [string, string])[] = [];
  private flushScheduled = false;
  /** Keys whose binding could not be written to Redis; written (and told) again on resync. */
  private readonly unsynced = new Set<string>();
  private readonly stops: (() => void)[] = [];
  private loading: Promise<void> | undefined;
  private loadAgain = false;
  private failureLogged = false;

  constructor(
    private readonly link: RedisLink,
    private readonly bus: ClusterBus,
    @InjectClock() private readonly clock: Clock,
    @Inject(APP_CONFIG) config: { readonly limits: Pick<LimitsConfig, 'affinityPerProject'> },
    @InjectEventBus() private readonly events: EventBus,
  ) {
    this.cache = new AffinityBindings<SharedBinding>(
      { perProject: config.limits.affinityPerProject, total: MAX_AFFINITY_BINDINGS },
      (key, binding) => this.evict(key, binding),
    );
    this.keyPrefix = link.key('aff', '');
    if (!('gatewayAffinitySet' in link.command)) {
      link.command.defineCommand('gatewayAffinitySet', { numberOfKeys: 1, lua: SET_IF_NEWER });
    }
    if (!('gatewayAffinityDelete' in link.command)) {
      link.command.defineCommand('gatewayAffinityDelete', { numberOfKeys: 1, lua: DELETE_IF_BOUND_TO });
    }
  }

  async onModuleInit(): Promise<void> {
    this.stops.push(
      this.bus.on(BIND, (data, from) => this.received(data, from)),
      this.bus.on(UNBIND, (data) => {
        if (typeof data === 'string') this.cache.delete(data);
      }),
      // After a reconnect (or a start without Redis) and after a gap in the bus.
      this.bus.onResync(() => this.resync()),
      // A deleted project's cached bindings go at once; in Redis they expire with their TTL.
      forgetDeletedProjects(this.events, (projectId) => this.cache.dropProject(projectId)),
    );
    if (!this.link.connected) return; // loaded when Redis answers (the bus resyncs)
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, INITIAL_LOAD_WAIT_MS)));
    await Promise.race([this.resync(), wait]);
    clearTimeout(timer);
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  get size(): number {
    return this.cache.size;
  }

  get(key: string, now: number): string | undefined {
    return this.cache.get(key, now)?.instanceId;
  }

  set(key: string, instanceId: string, ttlMs: number, now: number): void {
    const expiresAt = now + ttlMs;
    const binding = this.cache.peek(key);
    if (binding !== undefined && binding.instanceId === instanceId && binding.expiresAt > now) {
      binding.expiresAt = expiresAt;
      this.cache.put(key, binding, now); // now the project's most recently used
      if (expiresAt - binding.sharedUntil >= ttlMs * REFRESH_FRACTION) this.share(key, binding, now);
      return;
    }
    // A new binding, or a rebind: later than whatever it replaces, so that it wins on every node.
    const since = binding === undefined ? Math.floor(now) : Math.max(Math.floor(now), binding.since + 1);
    const fresh: SharedBinding = { instanceId, expiresAt, since, origin: this.link.nodeId, sharedUntil: 0 };
    this.cache.put(key, fresh, now);
    this.share(key, fresh, now);
  }

  delete(key: string): void {
    this.cache.delete(key);
    this.unsynced.delete(key);
    this.bus.send(UNBIND, key);
    if (this.link.connected) this.link.command.del(this.keyPrefix + key).catch(() => undefined);
  }

  /**
   * Reloads the bindings in Redis into the cache, after writing those Redis missed while it was
   * away. Called on start, after a reconnect and on a gap in the bus; resolves when done.
   */
  resync(): Promise<void> {
    if (this.loading !== undefined) {
      this.loadAgain = true;
      return this.loading;
    }
    const run = async (): Promise<void> => {
      do {
        this.loadAgain = false;
        await this.load();
      } while (this.loadAgain);
    };
    this.loading = run().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Tells the others and Redis of a binding; refreshes and rebinds alike. */
  private share(key: string, binding: SharedBinding, now: number): void {
    binding.sharedUntil = binding.expiresAt;
    const message: BindMessage = [key, binding.instanceId, binding.expiresAt - now, binding.since, binding.origin];
    this.bus.send(BIND, message);
    if (!this.link.connected) {
      this.markUnsynced(key);
      return;
    }
    this.pending.push([key, binding]);
    this.scheduleFlush();
  }

  /** A binding the cache evicted for room: deleted from Redis too (in the next pipeline), if it is up. */
  private evict(key: string, binding: SharedBinding): void {
    this.unsynced.delete(key);
    if (!this.link.connected) return;
    this.evicted.push([key, binding.instanceId]);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /**
   * Writes this turn's bindings in one pipeline, then deletes the evicted ones. Failed writes
   * wait for the next resync; failed deletes are left to the keys' TTL.
   */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    const evicted = this.evicted;
    this.pending = [];
    this.evicted = [];
    if (batch.length === 0 && evicted.length === 0) return;
    const now = this.clock.now();
    const pipeline = this.link.command.pipeline();
    const written: string[] = [];
    for (const [key, binding] of batch) {
      const ttl = Math.ceil(binding.expiresAt - now);
      if (ttl <= 0) continue;
      written.push(key);
      (pipeline as unknown as AffinityPipeline).gatewayAffinitySet(
        this.keyPrefix + key,
        binding.since,
        binding.origin,
        binding.instanceId,
        ttl,
      );
    }
    for (const [key, instanceId] of evicted) {
      (pipeline as unknown as AffinityPipeline).gatewayAffinityDelete(this.keyPrefix + key, instanceId);
    }
    if (written.length === 0 && evicted.length === 0) return;
    const results = await pipeline.exec().catch(() => null);
    let failed = 0;
    written.forEach((key, i) => {
      if (results === null || results[i]?.[0]) {
        failed++;
        this.markUnsynced(key);
      }
    });
    if (failed > 0) this.warnOnce(`${failed} affinity binding(s) not written to Redis; written when it answers`);
  }

  private markUnsynced(key: string): void {
    if (this.unsynced.size < MAX_UNSYNCED) this.unsynced.add(key);
  }

  private received(data: unknown, from: string): void {
    if (!isBindMessage(data)) {
      this.logger.warn(`Ignored a malformed affinity binding from ${from}`);
      return;
    }
    const [key, instanceId, ttlMs, since, origin] = data;
    const now = this.clock.now();
    this.adopt(key, instanceId, now + ttlMs, since, origin, now);
  }

  /**
   * Takes another node's binding (from the bus or Redis): the same instance extends the expiry;
   * another instance replaces ours only if bound later (ties: the greater node id).
   */
  private adopt(key: string, instanceId: string, expiresAt: number, since: number, origin: string, now: number): void {
    if (expiresAt <= now) return;
    const binding = this.cache.get(key, now);
    if (binding === undefined) {
      this.cache.put(key, { instanceId, expiresAt, since, origin, sharedUntil: expiresAt }, now);
      return;
    }
    if (binding.instanceId === instanceId) {
      if (expiresAt > binding.expiresAt) {
        binding.expiresAt = expiresAt;
        this.cache.put(key, binding, now); // used on another node: recently used here too
      }
      if (expiresAt > binding.sharedUntil) binding.sharedUntil = expiresAt;
      if (later(since, origin, binding.since, binding.origin)) {
        binding.since = since;
        binding.origin = origin;
      }
      return;
    }
    if (!later(since, origin, binding.since, binding.origin)) return; // ours is later: they adopt it
    binding.instanceId = instanceId;
    binding.expiresAt = expiresAt;
    binding.since = since;
    binding.origin = origin;
    binding.sharedUntil = expiresAt;
    this.cache.put(key, binding, now);
    this.unsynced.delete(key);
  }

  private async load(): Promise<void> {
    if (!this.link.connected) return;
    try {
      await this.writeUnsynced();
      let cursor = '0';
      let loaded = 0;
      do {
        const [next, keys] = await this.link.command.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) loaded += await this.loadKeys(keys);
      } while (cursor !== '0');
      this.failureLogged = false;
      this.logger.log(`Loaded ${loaded} affinity binding(s) from Redis`);
    } catch (error) {
      this.warnOnce(`Could not load affinity bindings from Redis: ${(error as Error).message}`);
    }
  }

  private async loadKeys(keys: readonly string[]): Promise<number> {
    const pipeline = this.link.command.pipeline();
    for (const key of keys) pipeline.get(key).pttl(key);
    const results = (await pipeline.exec()) ?? [];
    const now = this.clock.now();
    let loaded = 0;
    keys.forEach((key, i) => {
      const [valueError, value] = results[2 * i] ?? [];
      const [ttlError, ttl] = results[2 * i + 1] ?? [];
      if (valueError || ttlError || typeof value !== 'string' || typeof ttl !== 'number' || ttl <= 0) return;
      const parsed = /^(\d+) (\S+) ([\s\S]*)$/.exec(value);
      if (parsed === null) return;
      this.adopt(key.slice(this.keyPrefix.length), parsed[3], now + ttl, Number(parsed[1]), parsed[2], now);
      loaded++;
    });
    return loaded;
  }

  /** Bindings made or refreshed while Redis was away: written now, and told to the others again. */
  private async writeUnsynced(): Promise<void> {
    if (this.unsynced.size === 0) return;
    const now = this.clock.now();
    const keys = [...this.unsynced];
    this.unsynced.clear();
    for (const key of keys) {
      const binding = this.cache.get(key, now);
      if (binding !== undefined) this.share(key, binding, now);
    }
    await this.flush();
  }

  private warnOnce(message: string): void {
    if (this.failureLogged) return;
    this.failureLogged = true;
    this.logger.warn(message);
  }
}

/** Whether bind (since, origin) is later than bind (otherSince, otherOrigin). */
function later(since: number, origin: string, otherSince: number, otherOrigin: string): boolean {
  return since > otherSince || (since === otherSince && origin > otherOrigin);
}

function isBindMessage(data: unknown): data is BindMessage {
  return (
    Array.isArray(data) &&
    data.length === 5 &&
    typeof data[0] === 'string' &&
    typeof data[1] === 'string' &&
    Number.isFinite(data[2]) &&
    Number.isSafeInteger(data[3]) &&
    typeof data[4] === 'string'
  );
}

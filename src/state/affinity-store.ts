import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type LimitsConfig } from '../config/app-config';
import { EventBus, InjectEventBus, forgetDeletedProjects } from './event-bus';
import { LruMap } from './lru-map';

/**
 * Session stickiness: affinity key → instance id, with a TTL refreshed on use. The memory
 * implementation serves one node; the Redis one (cluster mode) shares bindings between nodes.
 *
 * @example
 * const bound = this.affinity.get(key, now);
 * this.affinity.set(key, instance.id, 30 * 60_000, now);
 */
export interface AffinityStore {
  /** The bound instance id, or undefined when unbound or expired. */
  get(key: string, now: number): string | undefined;
  /** Binds (or rebinds, or refreshes) the key for `ttlMs` from `now`. */
  set(key: string, instanceId: string, ttlMs: number, now: number): void;
  delete(key: string): void;
  readonly size: number;
}

/** Injection token of {@link AffinityStore}. */
export const AffinityStore = Symbol('AffinityStore');

export const InjectAffinityStore = (): ParameterDecorator => Inject(AffinityStore);

/** Bindings one node keeps at most, all projects together (a backstop behind the per-project cap). */
export const MAX_AFFINITY_BINDINGS = 1_000_000;

/**
 * The project an affinity key belongs to: keys start with the project id and `|`
 * (`project|apiType|apiIdentifier|affinityType|affinityKey`, as the selection service builds them).
 */
export function projectOfAffinityKey(key: string): string {
  const end = key.indexOf('|');
  return end < 0 ? '' : key.slice(0, end);
}

/** What a binding holds at the least: the instance and when the binding ends (epoch ms). */
export interface AffinityBinding {
  instanceId: string;
  expiresAt: number;
}

/** The caps of {@link AffinityBindings}. */
export interface AffinityCaps {
  /** Bindings one project keeps at most (`GATEWAY_MAX_AFFINITY_PER_PROJECT`). */
  readonly perProject: number;
  /** Bindings kept at most, all projects together. */
  readonly total?: number;
}

/** Expired bindings dropped from the head of a project's map per insertion, at most (keeps it O(1)). */
const EXPIRED_SWEPT_PER_PUT = 2;

/**
 * Bindings in one {@link LruMap} per project: `put` (a new binding, a rebind or a refresh) makes
 * the key its project's most recently used, so the oldest is always the project's least recently
 * used. Every operation is O(1), and none iterates a `Map` (see {@link LruMap}):
 * - a project at `perProject` loses its least recently used binding to a new one — never another
 *   project's;
 * - at the `total` backstop (all projects together) the largest project loses its least recently
 *   used binding — a hint kept up to date on insertion, so small projects keep theirs;
 * - expired bindings go on read, and up to two at the head of a project's map on each insertion
 *   (a project's bindings share one TTL, so its expired ones gather at the head).
 *
 * The memory store keeps its bindings here; the cluster store keeps its local cache here too, with
 * what it needs to share them added to each binding, and hears of evictions through `onEvict`.
 *
 * @example
 * const bindings = new AffinityBindings<AffinityBinding>({ perProject: 100_000 });
 * bindings.put('p1|MODEL|gpt|SESSION|s1', { instanceId: 'a', expiresAt: now + 60_000 }, now);
 * bindings.get('p1|MODEL|gpt|SESSION|s1', now)?.instanceId; // 'a'
 */
export class AffinityBindings<B extends AffinityBinding> {
  private readonly projects = new Map<string, LruMap<B>>();
  private readonly perProject: number;
  private readonly total: number;
  private count = 0;
  /** The project with the most bindings when last looked at (a hint for the backstop). */
  private largest: LruMap<B> | undefined;

  constructor(
    caps: AffinityCaps,
    /** Told of each binding evicted for room (not of expired or deleted ones). */
    private readonly onEvict?: (key: string, binding: B) => void,
  ) {
    this.perProject = Math.max(1, caps.perProject);
    this.total = Math.max(1, caps.total ?? MAX_AFFINITY_BINDINGS);
  }

  get size(): number {
    return this.count;
  }

  /** The live binding of `key` (the stored object itself), or undefined; an expired one is dropped. */
  get(key: string, now: number): B | undefined {
    const bucket = this.projects.get(projectOfAffinityKey(key));
    const binding = bucket?.get(key);
    if (bucket === undefined || binding === undefined) return undefined;
    if (binding.expiresAt <= now) {
      this.remove(bucket, key);
      return undefined;
    }
    return binding;
  }

  /** The stored binding of `key` even if expired (to change it in place), or undefined. */
  peek(key: string): B | undefined {
    return this.projects.get(projectOfAffinityKey(key))?.get(key);
  }

  /**
   * Stores `binding` for `key` as its project's most recently used (replacing any, or moving the
   * same object to the end on a refresh), evicting first when a cap is reached.
   */
  put(key: string, binding: B, now: number): void {
    const project = projectOfAffinityKey(key);
    const existing = this.projects.get(project);
    if (existing?.has(key)) {
      existing.set(key, binding);
      return;
    }
    if (existing !== undefined) this.sweepExpired(existing, now);
    // Sweeping or evicting may have emptied (and so forgotten) the project's map: look again.
    const held = this.projects.get(project);
    if (held !== undefined && held.size >= this.perProject) this.evictOldest(held);
    else if (this.count >= this.total) this.evictOldest(this.backstopVictim(held));
    let bucket = this.projects.get(project);
    if (bucket === undefined) this.projects.set(project, (bucket = new LruMap<B>()));
    bucket.set(key, binding);
    this.count++;
    if (this.largest === undefined || bucket.size > this.largest.size) this.largest = bucket;
  }

  delete(key: string): void {
    const bucket = this.projects.get(projectOfAffinityKey(key));
    if (bucket?.has(key)) this.remove(bucket, key);
  }

  /** Every stored binding, expired ones included (they go on read or eviction), project by project. */
  *entries(): IterableIterator<[string, B]> {
    for (const bucket of this.projects.values()) yield* bucket.entries();
  }

  /** Forgets every binding of a project (a deleted project's keys are never read or refreshed again). */
  dropProject(projectId: string): void {
    const bucket = this.projects.get(projectId);
    if (bucket === undefined) return;
    this.count -= bucket.size;
    this.projects.delete(projectId);
    if (this.largest === bucket) this.largest = undefined;
  }

  /** Bindings a project holds (expired ones included until they go). */
  sizeOf(projectId: string): number {
    return this.projects.get(projectId)?.size ?? 0;
  }

  private sweepExpired(bucket: LruMap<B>, now: number): void {
    for (let swept = 0; swept < EXPIRED_SWEPT_PER_PUT; swept++) {
      const oldest = bucket.oldest();
      if (oldest === undefined || oldest[1].expiresAt > now) return;
      this.remove(bucket, oldest[0]);
    }
  }

  /** Evicts the least recently used binding of `bucket` for room. */
  private evictOldest(bucket: LruMap<B> | undefined): void {
    const oldest = bucket?.oldest();
    if (bucket === undefined || oldest === undefined) return;
    const [key, binding] = oldest;
    this.remove(bucket, key);
    this.onEvict?.(key, binding);
  }

  /** At the backstop: the largest project seen, else the inserting one, else the first one. */
  private backstopVictim(inserting: LruMap<B> | undefined): LruMap<B> | undefined {
    return this.largest ?? inserting ?? this.projects.values().next().value;
  }

  private remove(bucket: LruMap<B>, key: string): void {
    bucket.delete(key);
    this.count--;
    if (bucket.size > 0) return;
    // An empty project is forgotten, so the map of projects stays as small as the live ones.
    const project = projectOfAffinityKey(key);
    if (this.projects.get(project) === bucket) this.projects.delete(project);
    if (this.largest === bucket) this.largest = undefined;
  }
}

/**
 * Bindings in one least-recently-used map per project (`GATEWAY_MAX_AFFINITY_PER_PROJECT` each),
 * expired lazily; a project flooding new keys only evicts its own.
 */
@Injectable()
export class MemoryAffinityStore implements AffinityStore, OnModuleInit, OnModuleDestroy {
  private readonly bindings: AffinityBindings<AffinityBinding>;
  private stop?: () => void;

  constructor(
    @Inject(APP_CONFIG) config: { readonly limits: Pick<LimitsConfig, 'affinityPerProject'> },
    @InjectEventBus() private readonly events: EventBus,
  ) {
    this.bindings = new AffinityBindings<AffinityBinding>({ perProject: config.limits.affinityPerProject });
  }

  /** A deleted project's bindings go at once (they would otherwise wait for the global backstop). */
  onModuleInit(): void {
    this.stop = forgetDeletedProjects(this.events, (projectId) => this.bindings.dropProject(projectId));
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  get size(): number {
    return this.bindings.size;
  }

  get(key: string, now: number): string | undefined {
    return this.bindings.get(key, now)?.instanceId;
  }

  /** A refresh moves the key to its project's most recently used end. */
  set(key: string, instanceId: string, ttlMs: number, now: number): void {
    const binding = this.bindings.peek(key);
    if (binding) {
      binding.instanceId = instanceId;
      binding.expiresAt = now + ttlMs;
      this.bindings.put(key, binding, now);
      return;
    }
    this.bindings.put(key, { instanceId, expiresAt: now + ttlMs }, now);
  }

  delete(key: string): void {
    this.bindings.delete(key);
  }
}

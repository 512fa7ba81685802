import { Inject, Injectable } from '@nestjs/common';

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

/** Bindings one node keeps at most; beyond, expired ones go first, then the oldest inserted. */
export const MAX_AFFINITY_BINDINGS = 1_000_000;

/** What a binding holds at the least: the instance and when the binding ends (epoch ms). */
export interface AffinityBinding {
  instanceId: string;
  expiresAt: number;
}

/**
 * Bindings in a Map, expired lazily on read and evicted when the cap is reached (expired ones, else
 * the oldest inserted). The memory store keeps its bindings here; the cluster store keeps its local
 * cache here too, with what it needs to share them added to each binding.
 *
 * @example
 * const bindings = new AffinityBindings<AffinityBinding>();
 * bindings.put('s1', { instanceId: 'a', expiresAt: now + 60_000 }, now);
 * bindings.get('s1', now)?.instanceId; // 'a'
 */
export class AffinityBindings<B extends AffinityBinding> {
  private readonly bindings = new Map<string, B>();

  constructor(private readonly cap = MAX_AFFINITY_BINDINGS) {}

  get size(): number {
    return this.bindings.size;
  }

  /** The live binding of `key` (the stored object itself), or undefined; an expired one is dropped. */
  get(key: string, now: number): B | undefined {
    const binding = this.bindings.get(key);
    if (!binding) return undefined;
    if (binding.expiresAt <= now) {
      this.bindings.delete(key);
      return undefined;
    }
    return binding;
  }

  /** The stored binding of `key` even if expired (to change it in place), or undefined. */
  peek(key: string): B | undefined {
    return this.bindings.get(key);
  }

  /** Stores a new binding for `key` (replacing any), evicting first when the cap is reached. */
  put(key: string, binding: B, now: number): void {
    if (!this.bindings.has(key) && this.bindings.size >= this.cap) this.evict(now);
    this.bindings.set(key, binding);
  }

  delete(key: string): void {
    this.bindings.delete(key);
  }

  /** Every stored binding, expired ones included (they go on read or eviction). */
  entries(): IterableIterator<[string, B]> {
    return this.bindings.entries();
  }

  /** Drops expired bindings; if none were, the oldest inserted one. */
  private evict(now: number): void {
    for (const [key, binding] of this.bindings) if (binding.expiresAt <= now) this.bindings.delete(key);
    if (this.bindings.size >= this.cap) {
      const oldest = this.bindings.keys().next().value;
      if (oldest !== undefined) this.bindings.delete(oldest);
    }
  }
}

/** Bindings in a Map, expired lazily on read and by insertion order when the cap is reached. */
@Injectable()
export class MemoryAffinityStore implements AffinityStore {
  private readonly bindings = new AffinityBindings<AffinityBinding>();

  get size(): number {
    return this.bindings.size;
  }

  get(key: string, now: number): string | undefined {
    return this.bindings.get(key, now)?.instanceId;
  }

  set(key: string, instanceId: string, ttlMs: number, now: number): void {
    const binding = this.bindings.peek(key);
    if (binding) {
      binding.instanceId = instanceId;
      binding.expiresAt = now + ttlMs;
      return;
    }
    this.bindings.put(key, { instanceId, expiresAt: now + ttlMs }, now);
  }

  delete(key: string): void {
    this.bindings.delete(key);
  }
}

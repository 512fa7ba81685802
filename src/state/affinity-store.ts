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

const MAX_BINDINGS = 1_000_000;

/** Bindings in a Map, expired lazily on read and by insertion order when the cap is reached. */
@Injectable()
export class MemoryAffinityStore implements AffinityStore {
  private readonly bindings = new Map<string, { instanceId: string; expiresAt: number }>();

  get size(): number {
    return this.bindings.size;
  }

  get(key: string, now: number): string | undefined {
    const binding = this.bindings.get(key);
    if (!binding) return undefined;
    if (binding.expiresAt <= now) {
      this.bindings.delete(key);
      return undefined;
    }
    return binding.instanceId;
  }

  set(key: string, instanceId: string, ttlMs: number, now: number): void {
    const binding = this.bindings.get(key);
    if (binding) {
      binding.instanceId = instanceId;
      binding.expiresAt = now + ttlMs;
      return;
    }
    if (this.bindings.size >= MAX_BINDINGS) this.evict(now);
    this.bindings.set(key, { instanceId, expiresAt: now + ttlMs });
  }

  delete(key: string): void {
    this.bindings.delete(key);
  }

  /** Drops expired bindings; if none were, the oldest inserted one. */
  private evict(now: number): void {
    for (const [key, binding] of this.bindings) if (binding.expiresAt <= now) this.bindings.delete(key);
    if (this.bindings.size >= MAX_BINDINGS) {
      const oldest = this.bindings.keys().next().value;
      if (oldest !== undefined) this.bindings.delete(oldest);
    }
  }
}

import type { SelectedInstance } from './types';

/** Fail-open mode: what to do when the gateway itself cannot be reached. */
export interface FailOpenOptions {
  /** Instances the gateway chose longer ago than this are not used, ms. */
  readonly maxStaleMs: number;
  /** An instance whose call failed is skipped for this long, ms (default 30 000). */
  readonly failureCooldownMs?: number;
  /** After the gateway failed, selections go straight to memory for this long before trying it again, ms (default 1000). */
  readonly retryGatewayAfterMs?: number;
}

/** What a selection asks for, as memory is keyed. */
export interface MemoryRequest {
  readonly apiType: string;
  readonly userId?: string;
  readonly apiIdentifier: string;
  readonly fallbackChain?: readonly string[];
}

interface Remembered {
  readonly instance: SelectedInstance;
  seenAt: number;
}

/** Identifiers remembered at most (the least recently chosen goes first). */
const MAX_KEYS = 1024;
/** Instances remembered per identifier at most. */
const MAX_PER_KEY = 64;

/**
 * The instances the gateway chose lately, per (apiType, userId, identifier): what fail-open mode
 * chooses from while the gateway is unreachable. It rotates among the fresh ones of the first
 * identifier of [apiIdentifier, ...fallbackChain] that has any, and skips excluded ones and those
 * that failed within `failureCooldownMs`. Instances that served through a fallback are remembered
 * under their own identifier, so the chain's order holds here too.
 */
export class InstanceMemory {
  private readonly keys = new Map<string, Map<string, Remembered>>();
  private readonly failedAt = new Map<string, number>();
  private readonly turns = new Map<string, number>();
  private readonly failureCooldownMs: number;

  constructor(private readonly options: FailOpenOptions) {
    this.failureCooldownMs = options.failureCooldownMs ?? 30_000;
  }

  /** Remembers the gateway's choice for a request. */
  remember(request: MemoryRequest, instance: SelectedInstance, now: number): void {
    this.put(keyOf(request.apiType, request.userId, instance.apiIdentifier), instance, now);
    // Selected by its businessId (select matches either): remember it under what was asked too.
    if (!instance.fallbackUsed && request.apiIdentifier !== instance.apiIdentifier) {
      this.put(keyOf(request.apiType, request.userId, request.apiIdentifier), instance, now);
    }
  }

  /** An attempt on the instance failed (skipped for a while) or succeeded (no longer skipped). */
  outcome(instanceId: string, failed: boolean, now: number): void {
    if (failed) this.failedAt.set(instanceId, now);
    else this.failedAt.delete(instanceId);
  }

  /** A remembered instance for the request, or undefined when memory has none that may be tried. */
  choose(request: MemoryRequest, exclude: ReadonlySet<string>, now: number): SelectedInstance | undefined {
    for (const identifier of [request.apiIdentifier, ...(request.fallbackChain ?? [])]) {
      const key = keyOf(request.apiType, request.userId, identifier);
      const entries = this.keys.get(key);
      if (entries === undefined) continue;
      const candidates: SelectedInstance[] = [];
      for (const [id, entry] of entries) {
        if (now - entry.seenAt > this.options.maxStaleMs) {
          entries.delete(id);
          continue;
        }
        if (exclude.has(id)) continue;
        const failed = this.failedAt.get(id);
        if (failed !== undefined && now - failed < this.failureCooldownMs) continue;
        candidates.push(entry.instance);
      }
      if (entries.size === 0) {
        this.keys.delete(key);
        this.turns.delete(key);
      }
      if (candidates.length === 0) continue;
      const turn = this.turns.get(key) ?? 0;
      this.turns.set(key, turn + 1);
      return candidates[turn % candidates.length];
    }
    return undefined;
  }

  private put(key: string, instance: SelectedInstance, now: number): void {
    let entries = this.keys.get(key);
    if (entries === undefined) {
      if (this.keys.size >= MAX_KEYS) {
        const oldest = this.keys.keys().next().value as string;
        this.keys.delete(oldest);
        this.turns.delete(oldest);
      }
      entries = new Map();
    } else {
      this.keys.delete(key); // re-inserted below: Map order is recency order
    }
    this.keys.set(key, entries);
    entries.delete(instance.id);
    entries.set(instance.id, { instance, seenAt: now });
    if (entries.size > MAX_PER_KEY) entries.delete(entries.keys().next().value as string);
    if (this.failedAt.size > MAX_KEYS * MAX_PER_KEY) this.failedAt.clear();
  }
}

function keyOf(apiType: string, userId: string | undefined, identifier: string): string {
  return `${apiType}\u0000${userId ?? ''}\u0000${identifier}`;
}

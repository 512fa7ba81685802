import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Clock, InjectClock } from '../common/clock';

interface Window {
  start: number;
  current: number;
  previous: number;
}

/** The record `increment` resolves to; the package's index does not export its interface. */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const MAX_KEYS = 100_000;

/** The id of the window that counts `key` for the throttler `name`. */
export function windowIdOf(key: string, name: string): string {
  return `${name}:${key}`;
}

/**
 * Throttler storage in O(1) per request: a sliding-window counter (the current fixed window plus
 * the previous one weighted by how much of it still overlaps), as Envoy's and Cloudflare's rate
 * limiters do. The library's default storage keeps one timestamp per hit and filters them on
 * every request — at the default 10k requests/s per key that is O(600k) work per request.
 */
@Injectable()
export class SlidingWindowThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();

  constructor(@InjectClock() private readonly clock: Clock) {}

  increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit, name));
  }

  /** {@link increment} without the promise, for the hot path's throttling (GatewayThrottlerGuard.throttleNow). */
  hit(key: string, ttl: number, limit: number, name: string): ThrottlerStorageRecord {
    return this.hitWindow(windowIdOf(key, name), ttl, limit);
  }

  /** {@link hit} for a window id made by {@link windowIdOf} (the hot path keeps it per principal). */
  hitWindow(id: string, ttl: number, limit: number): ThrottlerStorageRecord {
    const now = this.clock.now();
    const window = this.roll(this.windows.get(id) ?? this.create(id, now, ttl), now, ttl);
    const elapsed = (now - window.start) / ttl;
    const estimate = window.previous * (1 - elapsed) + window.current;
    const isBlocked = estimate >= limit;
    if (!isBlocked) window.current += 1;
    const timeToExpire = Math.max(1, Math.ceil((window.start + ttl - now) / 1000));
    return {
      totalHits: Math.ceil(estimate) + 1,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? timeToExpire : 0,
    };
  }

  private create(id: string, now: number, ttl: number): Window {
    if (this.windows.size >= MAX_KEYS) this.evictStale(now, ttl);
    const window = { start: now - (now % ttl), current: 0, previous: 0 };
    this.windows.set(id, window);
    return window;
  }

  private roll(window: Window, now: number, ttl: number): Window {
    const windows = Math.floor((now - window.start) / ttl);
    if (windows >= 1) {
      window.previous = windows === 1 ? window.current : 0;
      window.current = 0;
      window.start += windows * ttl;
    }
    return window;
  }

  private evictStale(now: number, ttl: number): void {
    for (const [id, window] of this.windows) if (now - window.start >= 2 * ttl) this.windows.delete(id);
    if (this.windows.size >= MAX_KEYS) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }
}

import type { Clock } from '../common/clock';
import { LruMap } from '../state/lru-map';
import type { AdminRole } from './entities/admin-user.entity';

/** What a request needs to know of an admin user to decide on its token. */
export interface AdminUserSnapshot {
  readonly id: string;
  readonly username: string;
  readonly role: AdminRole;
  /** The `ver` claim a token of this user must carry. */
  readonly tokenVersion: number;
}

/** How long an entry is trusted: a change made on another node applies here within this. */
export const ADMIN_USER_CACHE_TTL_MS = 1000;

const MAX_ENTRIES = 10_000;

interface Entry {
  readonly value: AdminUserSnapshot | undefined;
  /** When the read that produced it started (what it can be older than). */
  readonly loadedAt: number;
}

interface Load {
  readonly promise: Promise<AdminUserSnapshot | undefined>;
  readonly startedAt: number;
}

/**
 * Admin users as every admin request checks its token against them, without a query per
 * request: an entry lives less than {@link ADMIN_USER_CACHE_TTL_MS} (so a deletion, demotion or
 * revocation made on another node applies here within a second) and is dropped at once when this
 * node changes the user. A user that does not exist is remembered too. Concurrent misses for one
 * id share one load, as long as it started less than the TTL ago (with a slow database a newer
 * request starts its own, so no answer is older than the TTL); a load that raced a change caches
 * nothing, and a load that ends after a newer one does not replace its entry.
 */
export class AdminUserCache {
  /** In the order they were loaded: the oldest is evicted first. */
  private readonly entries = new LruMap<Entry>();
  private readonly loading = new Map<string, Load>();
  /** Bumped by every forget: a load started before it must not cache what it read. */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly load: (id: string) => Promise<AdminUserSnapshot | undefined>,
    private readonly ttlMs = ADMIN_USER_CACHE_TTL_MS,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  /** The user as of less than `ttlMs` ago, or undefined when there is no such user. */
  get(id: string): Promise<AdminUserSnapshot | undefined> {
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (entry !== undefined && now - entry.loadedAt < this.ttlMs) return Promise.resolve(entry.value);
    const load = this.loading.get(id);
    if (load !== undefined && now - load.startedAt < this.ttlMs) return load.promise;
    return this.startLoad(id, now);
  }

  /** Drops what is known of a user (it changed): the next request reads it again. */
  forget(id: string): void {
    this.generation += 1;
    this.entries.delete(id);
    this.loading.delete(id);
  }

  private startLoad(id: string, now: number): Promise<AdminUserSnapshot | undefined> {
    const generation = this.generation;
    const promise = this.load(id)
      .then((value) => {
        if (generation === this.generation) this.remember(id, { value, loadedAt: now });
        return value;
      })
      .finally(() => {
        if (this.loading.get(id)?.promise === promise) this.loading.delete(id);
      });
    this.loading.set(id, { promise, startedAt: now });
    return promise;
  }

  private remember(id: string, entry: Entry): void {
    const known = this.entries.get(id);
    // A slow read that ends after a newer one read older data: keep the newer entry.
    if (known !== undefined && known.loadedAt > entry.loadedAt) return;
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.oldest();
      if (oldest !== undefined) this.entries.delete(oldest[0]);
    }
    this.entries.set(id, entry);
  }
}

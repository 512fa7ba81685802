import type { Clock } from '../common/clock';
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
  readonly loadedAt: number;
}

/**
 * Admin users as every admin request checks its token against them, without a query per
 * request: an entry lives less than {@link ADMIN_USER_CACHE_TTL_MS} (so a deletion, demotion or
 * revocation made on another node applies here within a second) and is dropped at once when this
 * node changes the user. A user that does not exist is remembered too. Concurrent misses for one
 * id share one load; a load that raced a change caches nothing.
 */
export class AdminUserCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<AdminUserSnapshot | undefined>>();
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
    return this.loading.get(id) ?? this.startLoad(id, now);
  }

  /** Drops what is known of a user (it changed): the next request reads it again. */
  forget(id: string): void {
    this.generation += 1;
    this.entries.delete(id);
    this.loading.delete(id);
  }

  private startLoad(id: string, now: number): Promise<AdminUserSnapshot | undefined> {
    const generation = this.generation;
    const loading = this.load(id)
      .then((value) => {
        if (generation === this.generation) this.remember(id, { value, loadedAt: now });
        return value;
      })
      .finally(() => {
        if (this.loading.get(id) === loading) this.loading.delete(id);
      });
    this.loading.set(id, loading);
    return loading;
  }

  private remember(id: string, entry: Entry): void {
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(id, entry);
  }
}

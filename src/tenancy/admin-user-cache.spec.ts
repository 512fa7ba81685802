import { FakeClock } from '../common/clock';
import { ADMIN_USER_CACHE_TTL_MS, AdminUserCache, type AdminUserSnapshot } from './admin-user-cache';

const USER: AdminUserSnapshot = { id: 'u1', username: 'ops', role: 'admin', tokenVersion: 0 };

/** A user table the cache reads through, counting the reads; a read can be held open. */
class Table {
  rows = new Map<string, AdminUserSnapshot>([[USER.id, USER]]);
  reads = 0;
  hold?: Promise<void>;

  readonly load = async (id: string): Promise<AdminUserSnapshot | undefined> => {
    this.reads += 1;
    const row = this.rows.get(id);
    await this.hold;
    return row;
  };
}

describe('AdminUserCache', () => {
  let clock: FakeClock;
  let table: Table;
  let cache: AdminUserCache;
  beforeEach(() => {
    clock = new FakeClock();
    table = new Table();
    cache = new AdminUserCache(clock, table.load);
  });

  it('answers from memory for less than a second, then reads the record again', async () => {
    expect(await cache.get('u1')).toEqual(USER);
    table.rows.set('u1', { ...USER, role: 'viewer' });
    clock.advance(ADMIN_USER_CACHE_TTL_MS - 1);
    expect((await cache.get('u1'))?.role).toBe('admin');
    expect(table.reads).toBe(1);
    clock.advance(1);
    expect((await cache.get('u1'))?.role).toBe('viewer');
    expect(table.reads).toBe(2);
  });

  it('remembers that a user does not exist, for the same second', async () => {
    expect(await cache.get('ghost')).toBeUndefined();
    expect(await cache.get('ghost')).toBeUndefined();
    expect(table.reads).toBe(1);
  });

  it('a deletion another node made applies within a second', async () => {
    await cache.get('u1');
    table.rows.delete('u1');
    clock.advance(ADMIN_USER_CACHE_TTL_MS);
    expect(await cache.get('u1')).toBeUndefined();
  });

  it('forget drops the entry at once', async () => {
    await cache.get('u1');
    table.rows.set('u1', { ...USER, tokenVersion: 1 });
    cache.forget('u1');
    expect((await cache.get('u1'))?.tokenVersion).toBe(1);
  });

  it('concurrent misses share one read', async () => {
    const all = await Promise.all([cache.get('u1'), cache.get('u1'), cache.get('u1')]);
    expect(all).toEqual([USER, USER, USER]);
    expect(table.reads).toBe(1);
  });

  it('a read that raced a change caches nothing', async () => {
    let release!: () => void;
    table.hold = new Promise((resolve) => (release = resolve));
    const stale = cache.get('u1');
    table.rows.set('u1', { ...USER, tokenVersion: 5 });
    cache.forget('u1');
    release();
    expect((await stale)?.tokenVersion).toBe(0);
    table.hold = undefined;
    expect((await cache.get('u1'))?.tokenVersion).toBe(5);
  });

  it('does not hand out a read started a TTL ago or more: a slow database cannot stretch the second', async () => {
    let release!: () => void;
    table.hold = new Promise((resolve) => (release = resolve));
    const slow = cache.get('u1');
    clock.advance(ADMIN_USER_CACHE_TTL_MS - 1);
    expect(cache.get('u1')).toBe(slow);
    table.rows.set('u1', { ...USER, tokenVersion: 7 });
    clock.advance(1);
    table.hold = undefined;
    const again = cache.get('u1');
    release();
    expect(again).not.toBe(slow);
    expect([(await again)?.tokenVersion, table.reads]).toEqual([7, 2]);
    expect((await slow)?.tokenVersion).toBe(0);
    // The slow read finished last but read first: it must not replace the newer entry.
    expect((await cache.get('u1'))?.tokenVersion).toBe(7);
    expect(table.reads).toBe(2);
  });

  it('holds a bounded number of users, dropping the oldest', async () => {
    const small = new AdminUserCache(clock, table.load, ADMIN_USER_CACHE_TTL_MS, 2);
    for (const id of ['a', 'b', 'c']) await small.get(id);
    const before = table.reads;
    await small.get('c');
    await small.get('b');
    expect(table.reads).toBe(before);
    await small.get('a');
    expect(table.reads).toBe(before + 1);
  });
});

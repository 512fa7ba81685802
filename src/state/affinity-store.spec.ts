import { MemoryAffinityStore } from './affinity-store';

describe('MemoryAffinityStore', () => {
  it('binds until the TTL, refreshed by set', () => {
    const store = new MemoryAffinityStore();
    store.set('s1', 'a', 1000, 0);
    expect(store.get('s1', 999)).toBe('a');
    store.set('s1', 'a', 1000, 999);
    expect(store.get('s1', 1500)).toBe('a');
    expect(store.get('s1', 1999)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('rebinds and deletes', () => {
    const store = new MemoryAffinityStore();
    store.set('s1', 'a', 1000, 0);
    store.set('s1', 'b', 1000, 10);
    expect(store.get('s1', 20)).toBe('b');
    store.delete('s1');
    expect(store.get('s1', 20)).toBeUndefined();
  });
});

import { type AffinityBinding, AffinityBindings, MemoryAffinityStore } from './affinity-store';

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

describe('AffinityBindings', () => {
  it('at the cap, evicts expired bindings first, else the oldest inserted', () => {
    const bindings = new AffinityBindings<AffinityBinding>(3);
    bindings.put('a', { instanceId: 'i', expiresAt: 100 }, 0);
    bindings.put('b', { instanceId: 'i', expiresAt: 50 }, 0);
    bindings.put('c', { instanceId: 'i', expiresAt: 100 }, 0);
    bindings.put('d', { instanceId: 'i', expiresAt: 100 }, 60); // b has expired: it goes
    expect([...bindings.entries()].map(([key]) => key)).toEqual(['a', 'c', 'd']);
    bindings.put('e', { instanceId: 'i', expiresAt: 100 }, 60); // none expired: the oldest (a) goes
    expect([...bindings.entries()].map(([key]) => key)).toEqual(['c', 'd', 'e']);
    bindings.put('e', { instanceId: 'j', expiresAt: 100 }, 60); // a replacement evicts nothing
    expect(bindings.size).toBe(3);
    expect(bindings.get('e', 60)?.instanceId).toBe('j');
  });

  it('drops an expired binding on read; peek still shows it', () => {
    const bindings = new AffinityBindings<AffinityBinding>();
    bindings.put('a', { instanceId: 'i', expiresAt: 100 }, 0);
    expect(bindings.peek('a')).toEqual({ instanceId: 'i', expiresAt: 100 });
    expect(bindings.get('a', 100)).toBeUndefined();
    expect(bindings.peek('a')).toBeUndefined();
  });
});

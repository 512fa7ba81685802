import { FakeClock } from '../common/clock';
import { MemoryEventBus } from './event-bus';
import { type AffinityBinding, AffinityBindings, MemoryAffinityStore, projectOfAffinityKey } from './affinity-store';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const config = (affinityPerProject: number) => ({ limits: { affinityPerProject } });

/** A binding to instance `i` for a minute from `now`. */
const bound = (now: number, instanceId = 'i'): AffinityBinding => ({ instanceId, expiresAt: now + MINUTE });

/** The keys held, project by project, each in least-recently-used order. */
const keysOf = (bindings: AffinityBindings<AffinityBinding>) => [...bindings.entries()].map(([key]) => key);

/** What `work` asked of every `Map`: lookups and writes, and iterators (each a walk over its slots). */
interface MapWork {
  /** Calls of get, set, has, delete. */
  readonly operations: number;
  /** Iterators created (entries, keys, values, for…of, forEach). */
  readonly iterations: number;
}

/**
 * Counts the Map work `work` does: the structure's cost, not time. A `Map` iterator is counted
 * as such because V8 keeps deleted slots until the table is rebuilt, so even `keys().next()` may
 * walk many of them.
 */
function mapWorkDuring(work: () => void): MapWork {
  let operations = 0;
  let iterations = 0;
  const proto = Map.prototype as unknown as Record<PropertyKey, (...args: unknown[]) => unknown>;
  const counted: [PropertyKey, () => void][] = [
    ...(['get', 'set', 'has', 'delete'] as const).map((name): [PropertyKey, () => void] => [name, () => operations++]),
    ...(['entries', 'keys', 'values', Symbol.iterator, 'forEach'] as const).map((name): [PropertyKey, () => void] => [
      name,
      () => iterations++,
    ]),
  ];
  const originals = counted.map(([name]) => proto[name]);
  counted.forEach(([name, count], i) => {
    proto[name] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
      count();
      return originals[i].apply(this, args);
    };
  });
  try {
    work();
  } finally {
    counted.forEach(([name], i) => (proto[name] = originals[i]));
  }
  return { operations, iterations };
}

describe('MemoryAffinityStore', () => {
  it("forgets a deleted project's bindings at once, and only that project's", () => {
    const events = new MemoryEventBus();
    const store = new MemoryAffinityStore(config(100), events);
    store.onModuleInit();
    for (let i = 0; i < 10; i++) store.set(`gone|s${i}`, 'a', 60_000, 0);
    store.set('kept|s1', 'b', 60_000, 0);
    events.publish({ type: 'project.deleted', projectId: 'gone' });
    expect(store.size).toBe(1);
    expect([store.get('gone|s1', 1), store.get('kept|s1', 1)]).toEqual([undefined, 'b']);
    store.onModuleDestroy();
    store.set('gone|s1', 'a', 60_000, 0);
    events.publish({ type: 'project.deleted', projectId: 'gone' });
    expect(store.get('gone|s1', 1)).toBe('a');
  });

  it('binds until the TTL, refreshed by set', () => {
    const store = new MemoryAffinityStore(config(100), new MemoryEventBus());
    store.set('p|s1', 'a', 1000, 0);
    expect(store.get('p|s1', 999)).toBe('a');
    store.set('p|s1', 'a', 1000, 999);
    expect(store.get('p|s1', 1500)).toBe('a');
    expect(store.get('p|s1', 1999)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('rebinds and deletes', () => {
    const store = new MemoryAffinityStore(config(100), new MemoryEventBus());
    store.set('p|s1', 'a', 1000, 0);
    store.set('p|s1', 'b', 1000, 10);
    expect(store.get('p|s1', 20)).toBe('b');
    store.delete('p|s1');
    expect(store.get('p|s1', 20)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('keeps GATEWAY_MAX_AFFINITY_PER_PROJECT bindings per project: a refresh by use keeps a key, the least recently used goes', () => {
    const clock = new FakeClock(T0);
    const store = new MemoryAffinityStore(config(3), new MemoryEventBus());
    const use = (key: string, instanceId = 'x') => {
      clock.advance(1);
      store.set(key, instanceId, MINUTE, clock.now());
    };
    for (const key of ['a|1', 'a|2', 'a|3']) use(key);
    use('b|1', 'y');
    use('a|1'); // used again: a|2 is now the least recently used
    use('a|4');
    expect(['a|1', 'a|2', 'a|3', 'a|4', 'b|1'].map((key) => store.get(key, clock.now()))).toEqual([
      'x',
      undefined,
      'x',
      'x',
      'y',
    ]);
    expect(store.size).toBe(4);
  });
});

describe('projectOfAffinityKey', () => {
  it('is the part before the first "|", or "" for a key without one', () => {
    expect(projectOfAffinityKey('a1b2|MODEL|gpt|SESSION|x|y')).toBe('a1b2');
    expect(projectOfAffinityKey('|x')).toBe('');
    expect(projectOfAffinityKey('plain')).toBe('');
  });
});

describe('AffinityBindings', () => {
  it("at a project's cap, evicts that project's least recently used binding, and never another project's", () => {
    const evicted: string[] = [];
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 3 }, (key) => evicted.push(key));
    bindings.put('b|kept', bound(T0), T0);
    for (let i = 0; i < 1000; i++) bindings.put(`a|${i}`, bound(T0), T0);
    expect(keysOf(bindings)).toEqual(['b|kept', 'a|997', 'a|998', 'a|999']);
    expect(evicted).toEqual(Array.from({ length: 997 }, (_, i) => `a|${i}`));
    expect([bindings.size, bindings.sizeOf('a'), bindings.sizeOf('b')]).toEqual([4, 3, 1]);
  });

  it('moves a key put again (a refresh or a rebind) to the most recently used end; a replacement evicts nothing', () => {
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 3 });
    for (const key of ['a|1', 'a|2', 'a|3']) bindings.put(key, bound(T0), T0);
    bindings.put('a|1', bound(T0, 'j'), T0);
    expect(keysOf(bindings)).toEqual(['a|2', 'a|3', 'a|1']);
    expect(bindings.size).toBe(3);
    bindings.put('a|4', bound(T0), T0);
    expect(keysOf(bindings)).toEqual(['a|3', 'a|1', 'a|4']);
    expect(bindings.get('a|1', T0)?.instanceId).toBe('j');
  });

  it('drops expired bindings at the head of the project on insertion (two at most), before evicting a live one', () => {
    const evicted: string[] = [];
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 4 }, (key) => evicted.push(key));
    for (const key of ['a|1', 'a|2', 'a|3']) bindings.put(key, { instanceId: 'i', expiresAt: T0 + 10 }, T0);
    bindings.put('a|4', bound(T0), T0);
    bindings.put('a|5', bound(T0), T0 + 10); // a|1 and a|2 have expired: they go, nothing live is evicted
    expect(keysOf(bindings)).toEqual(['a|3', 'a|4', 'a|5']);
    expect(evicted).toEqual([]);
    bindings.put('a|6', bound(T0), T0 + 10);
    bindings.put('a|7', bound(T0), T0 + 10); // a|3 expired too (swept), then nothing is at the cap
    expect(keysOf(bindings)).toEqual(['a|4', 'a|5', 'a|6', 'a|7']);
    expect(evicted).toEqual([]);
  });

  it('at the total backstop, the largest project loses its least recently used binding, so small ones keep theirs', () => {
    const evicted: string[] = [];
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 10, total: 5 }, (key) => evicted.push(key));
    for (const key of ['a|1', 'a|2', 'a|3', 'a|4', 'b|1']) bindings.put(key, bound(T0), T0);
    bindings.put('b|2', bound(T0), T0);
    bindings.put('c|1', bound(T0), T0);
    expect(evicted).toEqual(['a|1', 'a|2']);
    expect(keysOf(bindings)).toEqual(['a|3', 'a|4', 'b|1', 'b|2', 'c|1']);
    // The largest is a hint kept on insertion: once b has grown larger than a, b pays.
    bindings.put('b|3', bound(T0), T0);
    expect(evicted).toEqual(['a|1', 'a|2', 'a|3']);
    bindings.put('b|4', bound(T0), T0);
    expect(evicted).toEqual(['a|1', 'a|2', 'a|3', 'b|1']);
    expect(keysOf(bindings)).toEqual(['a|4', 'b|2', 'b|3', 'b|4', 'c|1']);
    expect(bindings.size).toBe(5);
  });

  it('drops an expired binding on read; peek still shows it; delete and expiry do not count as evictions', () => {
    const evicted: string[] = [];
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 10 }, (key) => evicted.push(key));
    bindings.put('a|1', { instanceId: 'i', expiresAt: 100 }, 0);
    bindings.put('a|2', { instanceId: 'i', expiresAt: 100 }, 0);
    expect(bindings.peek('a|1')).toEqual({ instanceId: 'i', expiresAt: 100 });
    expect(bindings.get('a|1', 100)).toBeUndefined();
    expect(bindings.peek('a|1')).toBeUndefined();
    bindings.delete('a|2');
    bindings.delete('a|unknown');
    expect([bindings.size, bindings.sizeOf('a'), evicted]).toEqual([0, 0, []]);
  });

  it("inserts into a full project in O(1): the same Map work per insertion whatever the project's size, and no iteration", () => {
    const workOfInserting = (cap: number): MapWork => {
      const bindings = new AffinityBindings<AffinityBinding>({ perProject: cap });
      bindings.put('other|1', bound(T0), T0);
      for (let i = 0; i < cap; i++) bindings.put(`a|${i}`, bound(T0), T0);
      const work = mapWorkDuring(() => {
        for (let i = 0; i < 1000; i++) bindings.put(`a|new-${i}`, bound(T0), T0 + 1);
      });
      expect([bindings.sizeOf('a'), bindings.sizeOf('other')]).toEqual([cap, 1]);
      return work;
    };
    const small = workOfInserting(100);
    const large = workOfInserting(100_000);
    expect(large).toEqual(small);
    expect(small.iterations).toBe(0);
    expect(small.operations).toBeLessThanOrEqual(1000 * 12);
  });

  it('reaches the total backstop in O(1) too', () => {
    const bindings = new AffinityBindings<AffinityBinding>({ perProject: 100_000, total: 20_000 });
    for (let i = 0; i < 20_000; i++) bindings.put(`a|${i}`, bound(T0), T0);
    const work = mapWorkDuring(() => {
      for (let i = 0; i < 1000; i++) bindings.put(`b|${i}`, bound(T0), T0);
    });
    expect(work.iterations).toBe(0);
    expect(work.operations).toBeLessThanOrEqual(1000 * 12);
    expect([bindings.size, bindings.sizeOf('a'), bindings.sizeOf('b')]).toEqual([20_000, 19_000, 1000]);
  });
});

import fc from 'fast-check';
import { LruMap } from './lru-map';

describe('LruMap', () => {
  it('keeps entries in least-recently-set order; a set of a known key moves it to the newest end', () => {
    const lru = new LruMap<number>();
    expect([lru.set('a', 1), lru.set('b', 2), lru.set('c', 3)]).toEqual([false, false, false]);
    expect(lru.set('a', 4)).toBe(true);
    expect([...lru.entries()]).toEqual([
      ['b', 2],
      ['c', 3],
      ['a', 4],
    ]);
    expect(lru.oldest()).toEqual(['b', 2]);
    expect([lru.get('a'), lru.get('x'), lru.has('c'), lru.size]).toEqual([4, undefined, true, 3]);
  });

  it('unlinks deleted entries wherever they are, down to empty', () => {
    const lru = new LruMap<string>();
    for (const key of ['a', 'b', 'c', 'd']) lru.set(key, key);
    expect([lru.delete('b'), lru.delete('d'), lru.delete('zz')]).toEqual([true, true, false]);
    expect([...lru.entries()].map(([key]) => key)).toEqual(['a', 'c']);
    lru.delete('a');
    expect(lru.oldest()).toEqual(['c', 'c']);
    lru.delete('c');
    expect([lru.oldest(), lru.size, [...lru.entries()]]).toEqual([undefined, 0, []]);
    lru.set('e', 'e');
    expect(lru.oldest()).toEqual(['e', 'e']);
  });

  it('behaves as a model (a Map re-inserted on every set) under any sequence of sets and deletes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const lru = new LruMap<number>();
        const model = new Map<string, number>();
        for (const one of ops) {
          const key = String(one.key);
          if (one.kind === 'set') {
            expect(lru.set(key, one.value)).toBe(model.delete(key));
            model.set(key, one.value);
          } else {
            expect(lru.delete(key)).toBe(model.delete(key));
          }
        }
        expect([...lru.entries()]).toEqual([...model.entries()]);
        expect(lru.oldest()).toEqual(model.size === 0 ? undefined : [...model.entries()][0]);
      }),
    );
  });
});

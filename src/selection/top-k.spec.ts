import fc from 'fast-check';
import { TopK } from './top-k';

interface Item {
  readonly value: number;
  readonly seq: number;
}

/** Higher value first; ties by arrival, so the order is strict. */
const better = (a: Item, b: Item): boolean => a.value > b.value || (a.value === b.value && a.seq < b.seq);

describe('TopK', () => {
  it('keeps the k best of any stream, best first: the same as sorting all and taking k', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 300 }), fc.nat(40), (values, k) => {
        const items = values.map((value, seq) => ({ value, seq }));
        const best = new TopK<Item>(k, better);
        for (const item of items) best.offer(item);
        const expected = [...items].sort((a, b) => (better(a, b) ? -1 : 1)).slice(0, k);
        expect(best.sorted()).toEqual(expected);
        expect(best.size).toBe(Math.min(k, items.length));
      }),
    );
  });

  it('holds k items and calls the order O(log k) times per offer, whatever the stream length', () => {
    let comparisons = 0;
    const counted = (a: Item, b: Item) => {
      comparisons++;
      return better(a, b);
    };
    const best = new TopK<Item>(16, counted);
    for (let seq = 0; seq < 100_000; seq++) best.offer({ value: seq, seq }); // each new one is the best: worst case
    expect(best.size).toBe(16);
    expect(comparisons).toBeLessThanOrEqual(100_000 * 2 * Math.log2(16) + 100);
    expect(best.sorted().map((item) => item.value)).toEqual(Array.from({ length: 16 }, (_, i) => 99_999 - i));
  });

  it('keeps nothing when k is 0', () => {
    const best = new TopK<Item>(0, better);
    best.offer({ value: 1, seq: 0 });
    expect(best.sorted()).toEqual([]);
  });
});

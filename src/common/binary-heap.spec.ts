import fc from 'fast-check';
import { BinaryHeap } from './binary-heap';

const ascending = (a: number, b: number): boolean => a < b;

/** Pops every item: a heap's pops come out in its order. */
function drain(heap: BinaryHeap<number>): number[] {
  const out: number[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

describe('BinaryHeap', () => {
  it('pops any pushed sequence in order, whatever the arrival order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }), (values) => {
        const heap = new BinaryHeap<number>(ascending);
        for (const value of values) heap.push(value);
        expect(heap.size).toBe(values.length);
        expect(drain(heap)).toEqual([...values].sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });

  it('peeks at the root without removing it, and answers undefined when empty', () => {
    const heap = new BinaryHeap<number>(ascending);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    heap.push(3);
    heap.push(1);
    heap.push(2);
    expect(heap.peek()).toBe(1);
    expect(heap.size).toBe(3);
  });

  it('replaceTop swaps the root for a new item and keeps the order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (values, replacement) => {
          const heap = new BinaryHeap<number>(ascending);
          for (const value of values) heap.push(value);
          const rest = [...values].sort((a, b) => a - b).slice(1);
          heap.replaceTop(replacement);
          expect(drain(heap)).toEqual([...rest, replacement].sort((a, b) => a - b));
        },
      ),
    );
  });

  it('retain drops the rejected items and rebuilds the order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 200 }), (values) => {
        const heap = new BinaryHeap<number>(ascending);
        for (const value of values) heap.push(value);
        heap.retain((value) => value % 3 !== 0);
        expect(drain(heap)).toEqual(values.filter((value) => value % 3 !== 0).sort((a, b) => a - b));
      }),
    );
  });

  it('toArray is a copy: changing it leaves the heap alone', () => {
    const heap = new BinaryHeap<number>(ascending);
    heap.push(2);
    heap.push(1);
    const copy = heap.toArray();
    copy.length = 0;
    expect(heap.size).toBe(2);
    expect([...heap.toArray()].sort()).toEqual([1, 2]);
  });

  it('keeps equal items apart only by the order it is given (a strict order never swaps ties)', () => {
    const heap = new BinaryHeap<{ key: number; seq: number }>(
      (a, b) => a.key < b.key || (a.key === b.key && a.seq < b.seq),
    );
    for (let seq = 0; seq < 20; seq++) heap.push({ key: seq % 2, seq });
    const order: number[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) order.push(item.seq);
    expect(order).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  });
});

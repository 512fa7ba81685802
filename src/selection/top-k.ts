import { BinaryHeap } from '../common/binary-heap';

/**
 * The `k` best of a stream of items, kept in a binary heap whose root is the worst kept: each
 * offer costs O(log k), so choosing the k best of n costs O(n log k) and holds k items, whatever n.
 * `better(a, b)` must be a strict order (ties broken by the caller, e.g. by arrival order).
 *
 * @example
 * const best = new TopK<number>(3, (a, b) => a > b);
 * for (const n of [5, 1, 9, 7, 3]) best.offer(n);
 * best.sorted(); // [9, 7, 5]
 */
export class TopK<T> {
  /** Worst first: `a` comes before `b` when `b` is better. */
  private readonly heap: BinaryHeap<T>;

  constructor(
    private readonly k: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {
    this.heap = new BinaryHeap<T>((a, b) => better(b, a));
  }

  get size(): number {
    return this.heap.size;
  }

  /** Keeps `item` if it is among the k best so far (the worst kept then goes). */
  offer(item: T): void {
    if (this.heap.size < this.k) this.heap.push(item);
    else if (this.k > 0 && this.better(item, this.heap.peek()!)) this.heap.replaceTop(item);
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return this.heap.toArray().sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }
}

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
  private readonly heap: T[] = [];

  constructor(
    private readonly k: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Keeps `item` if it is among the k best so far (the worst kept then goes). */
  offer(item: T): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push(item);
      this.siftUp(heap.length - 1);
    } else if (this.k > 0 && this.better(item, heap[0])) {
      heap[0] = item;
      this.siftDown(0);
    }
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }

  /** Parent before child when the parent is worse: the root is the worst kept. */
  private siftUp(index: number): void {
    const heap = this.heap;
    const item = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.better(heap[parent], item)) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = item;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const item = heap[index];
    const half = heap.length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      if (child + 1 < heap.length && this.better(heap[child], heap[child + 1])) child++;
      if (!this.better(item, heap[child])) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = item;
  }
}

/**
 * A binary heap ordered by `before(a, b)` — a strict order: the root is the item no other item
 * comes before. Push, pop and replacing the root cost O(log n); `retain` drops items and rebuilds
 * in O(n). The lease expiry heap (soonest first) and the explain's top-k (worst kept first) are
 * both built on it.
 *
 * @example
 * const soonest = new BinaryHeap<number>((a, b) => a < b);
 * for (const n of [5, 1, 9]) soonest.push(n);
 * soonest.pop(); // 1
 */
export class BinaryHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  /** The root (the item nothing comes before), or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  /** Removes and returns the root, or undefined when empty. */
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0) {
      items[0] = last as T;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the root with `item` (one sift instead of a pop and a push). The heap must not be empty. */
  replaceTop(item: T): void {
    this.items[0] = item;
    this.siftDown(0);
  }

  /** Keeps only the items `keep` accepts, then restores the heap order bottom-up in O(n). */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** A copy of the items in heap (not sorted) order. */
  toArray(): T[] {
    return [...this.items];
  }

  private siftUp(index: number): void {
    const items = this.items;
    const item = items[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(item, items[parent])) break;
      items[index] = items[parent];
      index = parent;
    }
    items[index] = item;
  }

  private siftDown(index: number): void {
    const items = this.items;
    const item = items[index];
    const half = items.length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      if (child + 1 < items.length && this.before(items[child + 1], items[child])) child++;
      if (!this.before(items[child], item)) break;
      items[index] = items[child];
      index = child;
    }
    items[index] = item;
  }
}

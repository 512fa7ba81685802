/** One entry, linked to its neighbours in use order. */
interface LruNode<V> {
  readonly key: string;
  value: V;
  /** Used less recently (towards the oldest). */
  older: LruNode<V> | undefined;
  /** Used more recently (towards the newest). */
  newer: LruNode<V> | undefined;
}

/**
 * A map in least-recently-used order: a `Map` from key to node for lookups, and a doubly linked
 * list of the nodes for the order. Every operation is O(1), and none iterates a `Map`: V8 leaves
 * a deleted entry's slot in place until the table is rebuilt, so a `Map` used as a queue
 * (`keys().next()` after deleting its first keys) skips more and more dead slots, O(n) per call.
 *
 * @example
 * const lru = new LruMap<number>();
 * lru.set('a', 1); lru.set('b', 2); lru.set('a', 3); // 'a' is now the most recent
 * lru.oldest(); // ['b', 2]
 */
export class LruMap<V> {
  private readonly nodes = new Map<string, LruNode<V>>();
  private oldestNode: LruNode<V> | undefined;
  private newestNode: LruNode<V> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  /** The value of `key`, or undefined; does not change the order. */
  get(key: string): V | undefined {
    return this.nodes.get(key)?.value;
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  /** Sets `key` to `value` as the most recently used. Returns whether `key` was there already. */
  set(key: string, value: V): boolean {
    const node = this.nodes.get(key);
    if (node !== undefined) {
      node.value = value;
      this.unlink(node);
      this.append(node);
      return true;
    }
    const fresh: LruNode<V> = { key, value, older: undefined, newer: undefined };
    this.nodes.set(key, fresh);
    this.append(fresh);
    return false;
  }

  /** The least recently used entry, or undefined when empty. */
  oldest(): readonly [string, V] | undefined {
    const node = this.oldestNode;
    return node === undefined ? undefined : [node.key, node.value];
  }

  /** Returns whether `key` was there. */
  delete(key: string): boolean {
    const node = this.nodes.get(key);
    if (node === undefined) return false;
    this.nodes.delete(key);
    this.unlink(node);
    return true;
  }

  /** Every entry, least recently used first. */
  *entries(): IterableIterator<[string, V]> {
    for (let node = this.oldestNode; node !== undefined; node = node.newer) yield [node.key, node.value];
  }

  private append(node: LruNode<V>): void {
    node.older = this.newestNode;
    node.newer = undefined;
    if (this.newestNode === undefined) this.oldestNode = node;
    else this.newestNode.newer = node;
    this.newestNode = node;
  }

  private unlink(node: LruNode<V>): void {
    if (node.older === undefined) this.oldestNode = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.newestNode = node.older;
    else node.newer.older = node.older;
    node.older = undefined;
    node.newer = undefined;
  }
}

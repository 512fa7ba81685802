import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Visits every item, `size` at a time, letting the event loop run between two chunks: a long
 * synchronous walk (validating thousands of batch items) would otherwise hold every other
 * request — another tenant's selects included — for its whole duration.
 *
 * @example
 * await forEachInChunks(items, 100, (item, i) => errors.push(...check(item, `instances.${i}`)));
 */
export async function forEachInChunks<T>(
  items: readonly T[],
  size: number,
  visit: (item: T, index: number) => void,
): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    if (start > 0) await nextTurn();
    const end = Math.min(items.length, start + size);
    for (let i = start; i < end; i++) visit(items[i], i);
  }
}

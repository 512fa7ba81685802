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

/**
 * Rows per SQL statement (an `IN (…)` list or a multi-row `INSERT`), and per transaction where the
 * driver holds the event loop for a whole transaction (SQLite): far below every driver's limit on
 * bound parameters, and short enough that other requests run between two.
 */
export const ROWS_PER_STATEMENT = 200;

/**
 * The items cut into consecutive slices of `size` (the last one shorter), in order.
 *
 * @example
 * for (const ids of chunksOf(allIds, ROWS_PER_STATEMENT)) await manager.delete(Entity, { id: In(ids) });
 */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

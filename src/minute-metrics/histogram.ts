/**
 * Upper bounds (ms, inclusive) of the fixed latency buckets kept per instance and minute; one more
 * bucket holds everything above the last bound. Fixed buckets add up across minutes, instances and
 * nodes, so p50/p95/p99 over any range come from summed counts (as Prometheus histograms do).
 * Roughly logarithmic: a percentile read off them is within one bucket of the exact value.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 20_000, 30_000,
  60_000,
]);

/** Number of buckets: one per bound plus the overflow bucket. */
export const HISTOGRAM_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** Index of the bucket that holds `ms` (the first bound ≥ ms; the overflow bucket above them all). */
export function bucketOf(ms: number): number {
  return bucketIndex(LATENCY_BOUNDS_MS, ms);
}

/**
 * Index of the first of the ascending `bounds` that is ≥ `value` (Prometheus' `le`), or
 * `bounds.length` above them all: a binary search.
 */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (bounds[mid] >= value) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * The `q`-quantile (0 < q ≤ 1) of the values counted in `counts`, interpolated linearly inside
 * its bucket (from the previous bound, or 0, to the bucket's bound); the overflow bucket answers
 * its lower bound. Undefined when nothing was counted.
 *
 * @example
 * quantile(counts, 0.99); // p99 in ms
 */
export function quantile(counts: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i];
    if (count > 0 && seen + count >= rank) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
      const upper = LATENCY_BOUNDS_MS[i];
      return lower + ((upper - lower) * Math.max(0, rank - seen)) / count;
    }
    seen += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

/** Column names of the buckets: `lat_b00` … `lat_b22`. */
export function bucketColumns(prefix: string): string[] {
  return Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `${prefix}_b${String(i).padStart(2, '0')}`);
}

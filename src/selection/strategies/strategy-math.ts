import type { Candidate, SelectionContext } from '../selection-strategy';

/**
 * Sanitised reads of a candidate's stats and params shared by the built-in strategies, and the
 * allocation-free "best, ties at random" scan most of them reduce to.
 *
 * Stats come from our own bookkeeping and should always be finite and non-negative; the clamps
 * exist so that one corrupt value (NaN, Infinity) degrades one candidate instead of making a
 * strategy return NaN scores or throw on the hot path.
 */

/** Latencies above this (~2.8 h) are all "unusably slow"; capping keeps scores finite. */
export const MAX_LATENCY_MS = 10_000_000;
/** Weights above this add nothing but the risk of an infinite sum. */
export const MAX_WEIGHT = 1_000_000_000;

/** Peak-EWMA latency in [0, MAX_LATENCY_MS]; anything unreadable counts as the slowest. */
export function latencyOf(candidate: Candidate): number {
  const ms = candidate.stats.latencyMs;
  return ms >= 0 && ms < MAX_LATENCY_MS ? ms : MAX_LATENCY_MS;
}

/**
 * Laplace-smoothed success rate (successes + 1) / (successes + failures + 2): an unseen instance
 * scores a neutral 0.5 instead of 0 (never tried) or 1 (flooded), and a handful of calls cannot
 * swing it to an extreme. Only outcomes that count for health are in the denominator: a client
 * error or a rate limit says nothing about whether the backend works.
 */
export function successRateOf(candidate: Candidate): number {
  const successes = nonNegative(candidate.stats.successes);
  const failures = nonNegative(candidate.stats.failures);
  return (successes + 1) / (successes + failures + 2);
}

export function openLeasesOf(candidate: Candidate): number {
  return nonNegative(candidate.stats.openLeases);
}

/** Slow-start ramp in [0, 1]; unreadable counts as settled (1) rather than starving the instance. */
export function slowStartOf(candidate: Candidate): number {
  const factor = candidate.stats.slowStartFactor;
  if (!(factor >= 0)) return 1;
  // Stryker disable next-line EqualityOperator: at factor 1 both branches return 1
  return factor > 1 ? 1 : factor;
}

/** `costPerUnit`, or +Infinity when unset, so an instance of unknown cost sorts as the most expensive. */
export function costOf(candidate: Candidate): number {
  const cost = candidate.params.costPerUnit;
  return cost !== undefined && cost >= 0 ? cost : Number.POSITIVE_INFINITY;
}

/** `weight` (1 when unset), in [0, MAX_WEIGHT]. */
export function weightOf(candidate: Candidate): number {
  const weight = candidate.params.weight;
  if (weight === undefined) return 1;
  // Stryker disable next-line EqualityOperator: at weight 0 both branches return 0
  if (!(weight >= 0)) return 0;
  // Stryker disable next-line EqualityOperator: at MAX_WEIGHT both branches return MAX_WEIGHT
  return weight > MAX_WEIGHT ? MAX_WEIGHT : weight;
}

/** `value` in [0, MAX_SAFE_INTEGER]; anything unreadable counts as 0. */
export function nonNegative(value: number): number {
  // Stryker disable next-line EqualityOperator: at value 0 both branches return 0
  if (!(value >= 0)) return 0;
  // Stryker disable next-line EqualityOperator: at MAX_SAFE_INTEGER both branches return it
  return value < Number.MAX_SAFE_INTEGER ? value : Number.MAX_SAFE_INTEGER;
}

/** An integer in [0, n): `random()` is in [0, 1), the clamp guards a generator that returns 1. */
export function randomIndex(random: SelectionContext['random'], n: number): number {
  const index = Math.floor(random() * n);
  return index >= 0 && index < n ? index : n - 1;
}

/** Negative when `a` is better than `b`, 0 when they tie. Module-level functions, not closures. */
export type Comparator = (a: Candidate, b: Candidate) => number;

/**
 * The best candidate under `compare`, ties broken uniformly at random with a single draw: one
 * pass finds the best and counts its ties, a second (only when there are ties) walks to the
 * drawn one. O(n), no allocation.
 */
export function pickBest(candidates: readonly Candidate[], compare: Comparator, random: () => number): Candidate {
  let best = candidates[0];
  let ties = 1;
  for (let i = 1; i < candidates.length; i++) {
    const order = compare(candidates[i], best);
    if (order < 0) {
      best = candidates[i];
      ties = 1;
    } else if (order === 0) {
      ties++;
    }
  }
  if (ties === 1) return best;
  let skip = randomIndex(random, ties);
  // Stryker disable next-line EqualityOperator: the drawn tie exists, so this pass returns before i reaches the end
  for (let i = 0; i < candidates.length; i++) {
    if (compare(candidates[i], best) === 0 && skip-- === 0) return candidates[i];
  }
  return best;
}

/**
 * A candidate drawn with probability proportional to `weights[i]` over the first
 * `candidates.length` entries; uniform when every weight is 0. `total` is their sum.
 */
export function pickWeighted(
  candidates: readonly Candidate[],
  weights: Float64Array,
  total: number,
  random: () => number,
): Candidate {
  if (!(total > 0) || !Number.isFinite(total)) return candidates[randomIndex(random, candidates.length)];
  let target = random() * total;
  let lastPositive = 0;
  for (let i = 0; i < candidates.length; i++) {
    if (weights[i] <= 0) continue;
    lastPositive = i;
    target -= weights[i];
    if (target < 0) return candidates[i];
  }
  // Rounding can leave a sliver past the last weight; it belongs to the last eligible candidate.
  return candidates[lastPositive];
}

/** A reusable scratch buffer at least `size` long; grows by doubling, never shrinks. */
export function ensureCapacity(buffer: Float64Array<ArrayBuffer>, size: number): Float64Array<ArrayBuffer> {
  if (buffer.length >= size) return buffer;
  let length = buffer.length || 16;
  while (length < size) length *= 2;
  return new Float64Array(length);
}

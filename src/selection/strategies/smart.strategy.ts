import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { ensureCapacity, latencyOf, openLeasesOf, pickWeighted, slowStartOf, successRateOf } from './strategy-math';

/** The strategy used when neither the request nor the project names one. */
export const DEFAULT_STRATEGY_NAME = 'smart';

/** Below ~10 ms, latency differences are network jitter; the scale makes them stop mattering. */
const LATENCY_SCALE_MS = 10;
/** Candidates scoring at least this share of the best are "near-equals" and share the traffic. */
export const NEAR_BEST = 0.9;

/**
 * The smart score of one candidate (higher is better, always finite, ≥ 0):
 *
 *     score = successRate² × slowStartFactor / ((1 + latencyMs / 10) × (1 + openLeases) × (1 + costPerUnit))
 *
 * - `successRate` = (successes + 1) / (successes + failures + 2): unseen instances are neutral
 *   (0.5). Squared so that failing costs more than it saves: a 50 %-failing instance must be 4×
 *   faster than a healthy one to tie.
 * - `latencyMs` is already peak-EWMA with a failure penalty; dividing by it makes the score
 *   scale-free (200 ms vs 220 ms weighs like 2 s vs 2.2 s). The +10 ms keeps the division finite. (A
 *   50 ms scale, tried against the failover simulator, made a 10× slower instance look close enough to
 *   win whenever the fast ones had a few calls in flight: p99 ×5 in the latency-spike scenario.)
 * - `(1 + openLeases)`: latency × (in-flight + 1) is the load cost of Finagle's and Linkerd's
 *   peak-EWMA balancers; it stops a fast instance from being flooded before its EWMA catches up.
 * - `(1 + costPerUnit)` only when the instance has a cost; cost is in the project's own unit, so
 *   it weighs in once it is of the order of 1. Projects for which cost should dominate use
 *   `lowest-cost`.
 * - `slowStartFactor` ramps a recovered instance from 10 % to full weight.
 *
 * @example
 * smartScore(candidate); // 0.25 × 1 / ((1 + 1000 / 10) × 1 × 1) ≈ 0.0025 for an unseen, idle instance
 */
export function smartScore(candidate: Candidate): number {
  const rate = successRateOf(candidate);
  const cost = candidate.params.costPerUnit;
  // Stryker disable next-line EqualityOperator: a cost of 0 gives 1 + 0 = 1 either way
  const costFactor = cost !== undefined && cost > 0 ? 1 + cost : 1;
  const denominator = (1 + latencyOf(candidate) / LATENCY_SCALE_MS) * (1 + openLeasesOf(candidate)) * costFactor;
  const score = (rate * rate * slowStartOf(candidate)) / denominator;
  // A denominator that overflowed to Infinity gives 0; NaN cannot arise from the clamped inputs.
  // Stryker disable next-line EqualityOperator: at 0 both branches give 0 (-0 at most, which every later use treats as 0)
  return score > 0 ? score : 0;
}

/** Share of an instance never reported: explored, not starved, not flooded. */
const UNSEEN_RAMP = 0.1;
/** Weight, relative to the best, that all candidates below the near-equal band share. */
export const EXPLORE = 0.01;

/**
 * 1 for a settled instance; its slow-start factor (0.1 → 1 over 30 s) for one that just recovered
 * (its breaker closed); {@link UNSEEN_RAMP} for one never reported.
 */
function rampOf(candidate: Candidate): number {
  if (candidate.stats.lastReportAt === undefined) return UNSEEN_RAMP;
  return slowStartOf(candidate);
}

/**
 * Default strategy: every candidate gets its {@link smartScore}; those within 10 % of the best
 * are near-equals, and one of them is drawn with probability proportional to its score.
 * Instances ramping up — just recovered (slow start) or never reported — are not judged by their
 * score, which reflects a stale outage or a neutral prior: each gets `best × ramp` instead, so a
 * recovered backend regains its share over the slow start (docs/resilience.md §5) and a new one is
 * explored at 10 %, rather than waiting forever for a history it cannot earn without traffic. Always
 * taking the single best would send every request to it until its EWMA and lease count caught
 * up, then swing to the next: drawing among near-equals spreads load without giving traffic to
 * clearly worse instances. Three passes over a reused score buffer: O(n), no allocation.
 */
@SelectionStrategy(DEFAULT_STRATEGY_NAME)
@Injectable()
export class SmartStrategy implements SelectionStrategyHandler {
  // Reused across calls: pick() is synchronous, so one buffer per (singleton) instance is safe.
  private scores = new Float64Array(16);

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const scores = (this.scores = ensureCapacity(this.scores, n));
    // The best score among settled candidates (or among all, when none is settled).
    let best = 0;
    let bestAny = 0;
    for (let i = 0; i < n; i++) {
      const score = smartScore(candidates[i]);
      scores[i] = score;
      // Stryker disable next-line EqualityOperator: on a tie it assigns the value it already holds
      if (score > bestAny) bestAny = score;
      // Stryker disable next-line EqualityOperator: on a tie it assigns the value it already holds
      if (score > best && rampOf(candidates[i]) === 1) best = score;
    }
    const settledExist = best > 0;
    if (!settledExist) best = bestAny;
    const threshold = best * NEAR_BEST;
    let below = 0;
    for (let i = 0; i < n; i++) {
      const ramp = settledExist ? rampOf(candidates[i]) : 1;
      if (ramp === 1 && scores[i] < threshold && scores[i] > 0) below++;
    }
    // Candidates below the band share EXPLORE (1 %) of the best's weight: enough for fresh samples to
    // correct a stale score (a latency spike that is over, errors that stopped), too little to
    // matter when the score is right — a really failing instance trips its breaker anyway.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: exploreWeight is only read by the candidates counted in below
    const exploreWeight = below > 0 ? (best * EXPLORE) / below : 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const ramp = settledExist ? rampOf(candidates[i]) : 1;
      // Ramping up: a share of the best, whatever its (stale or missing) history says.
      const weight = ramp < 1 ? best * ramp : scores[i] >= threshold ? scores[i] : scores[i] > 0 ? exploreWeight : 0;
      scores[i] = weight;
      total += weight;
    }
    return pickWeighted(candidates, scores, total, context.random);
  }

  score(candidate: Candidate): number {
    return smartScore(candidate);
  }
}

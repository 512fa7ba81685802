import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import {
  ensureCapacity,
  latencyOf,
  nonNegative,
  openLeasesOf,
  randomIndex,
  slowStartOf,
  weightOf,
} from './strategy-math';

/** The strategy used when neither the request nor the project names one. */
export const DEFAULT_STRATEGY_NAME = 'smart';

/** Below ~10 ms, latency differences are network jitter; the scale makes them stop mattering. */
const LATENCY_SCALE_MS = 10;
/**
 * Candidates scoring at least this share of the best are "near-equals" and share the traffic: a
 * backend 2.5× slower than the best, or failing a quarter of its calls, is out; latency jitter
 * is not (peak-EWMAs of equal instances often sit 2× apart).
 */
export const NEAR_BEST = 0.4;
/** At most one call per candidate set goes to a candidate below the band this often… */
export const EXPLORE_EVERY_MS = 5000;
/** …and never more than one in this many calls of the set (10 % at low traffic). */
export const EXPLORE_MIN_PICKS = 10;
/** Candidate sets whose exploration clock is remembered; beyond it the oldest set is forgotten. */
export const SMART_MAX_SETS = 10_000;

/**
 * Health in (0, 1]: (successes + 1) / (successes + failures + 1) over the 60 s window. An instance
 * without failures is at 1 however little traffic it had: the earlier (s + 1) / (s + f + 2) scored
 * an instance with 2 successes 0.75 and one with 87 successes 0.99, so whichever already had the
 * traffic kept it — one caller's sequential calls piled onto one instance.
 */
export function healthOf(candidate: Candidate): number {
  const successes = nonNegative(candidate.stats.successes);
  const failures = nonNegative(candidate.stats.failures);
  return (successes + 1) / (successes + failures + 1);
}

/**
 * The latency smart judges by: the peak-EWMA of answered calls, or, when longer, how long the
 * instance's oldest pending selection has waited for an answer — a backend that stopped
 * answering looks slow at once, not only when its first slow answer arrives (until then, a
 * slow-first-byte spike kept a third of the traffic for a whole response time).
 */
export function smartLatencyOf(candidate: Candidate): number {
  const latency = latencyOf(candidate);
  const unanswered = candidate.stats.unansweredMs;
  // Stryker disable next-line EqualityOperator: on a tie both are the same value
  return unanswered > latency && unanswered < Number.POSITIVE_INFINITY ? unanswered : latency;
}

/**
 * The smart score of one candidate: its quality, higher is better, always finite, ≥ 0:
 *
 *     score = health⁴ / ((1 + latencyMs / 10) × (1 + costPerUnit))
 *
 * - `health` ({@link healthOf}) to the fourth: failing costs more than speed saves — an instance
 *   failing a quarter of its calls is out of the band even when it is the fastest (0.75⁴ < 0.4),
 *   one failing a tenth is still in (its share then weighed by health²).
 * - `latencyMs` ({@link smartLatencyOf}): dividing by it makes the score scale-free (200 ms vs
 *   220 ms weighs like 2 s vs 2.2 s); the +10 ms keeps the division finite.
 * - `(1 + costPerUnit)` only when the instance has a cost, in the project's own unit. Projects for
 *   which cost should dominate use `lowest-cost`.
 *
 * The score decides who is in the near-equal band, not how the band shares the traffic: see
 * {@link SmartStrategy}.
 *
 * @example
 * smartScore(candidate); // 1 / (1 + 1000 / 10) ≈ 0.0099 for an unseen instance
 */
export function smartScore(candidate: Candidate): number {
  const health = healthOf(candidate);
  const cost = candidate.params.costPerUnit;
  // Stryker disable next-line EqualityOperator: a cost of 0 gives 1 + 0 = 1 either way
  const costFactor = cost !== undefined && cost > 0 ? 1 + cost : 1;
  const squared = health * health;
  const score = (squared * squared) / ((1 + smartLatencyOf(candidate) / LATENCY_SCALE_MS) * costFactor);
  // A denominator that overflowed to Infinity gives 0; NaN cannot arise from the clamped inputs.
  // Stryker disable next-line EqualityOperator: at 0 both branches give 0
  return score > 0 ? score : 0;
}

/**
 * The share weight of a near-equal: `weight × health² × ramp / (1 + openLeases / weight)` (health
 * taken as 1 while ramping up).
 * Weight-proportional whether calls overlap or not — with one call at a time every instance has
 * no open lease and equal peers split evenly; with overlapping calls the `openLeases / weight`
 * term (the least-loaded balancers' in-flight count, per unit of weight) steers each call to the
 * least busy, so equal peers stay even and a slow one gets fewer. Latency is deliberately absent:
 * inside the band its differences are jitter, and weighting by them let noise pick a favourite.
 */
export function shareWeight(candidate: Candidate, ramp: number): number {
  const weight = weightOf(candidate);
  if (!(weight > 0)) return 0;
  // Ramping up, its window still holds the outage that opened its breaker: the ramp alone decides.
  const health = ramp < 1 ? 1 : healthOf(candidate);
  return (weight * health * health * ramp) / (1 + openLeasesOf(candidate) / weight);
}

/** Share of an instance never reported: explored, not starved, not flooded. */
const UNSEEN_RAMP = 0.1;

/**
 * 1 for a settled instance; its slow-start factor (0.1 → 1 over 30 s) for one that just recovered
 * (its breaker closed); {@link UNSEEN_RAMP} for one never reported.
 */
function rampOf(candidate: Candidate): number {
  if (candidate.stats.lastReportAt === undefined) return UNSEEN_RAMP;
  return slowStartOf(candidate);
}

/** Rotations kept per candidate set, one per set size; beyond it they are all forgotten. */
const MAX_SIZES_PER_SET = 8;

/** What smart remembers of one candidate set. */
interface SetState {
  /**
   * Smooth weighted round-robin's running weights by candidate position, one rotation per set
   * size: each pick adds every near-equal's share weight to its own and takes the largest, which
   * then gives back the total. Per size, so that a strategy that hands smart part of a set (a
   * canary split) keeps one fair rotation per part.
   */
  readonly rotations: Map<number, Float64Array>;
  /** When the set last explored (or last had nobody to explore): the next is due EXPLORE_EVERY_MS later. */
  exploredAt: number;
  /** Picks of the set since its last exploration. */
  picks: number;
}

/**
 * Default strategy. Every candidate gets its {@link smartScore}; those scoring at least 40 % of
 * the best are near-equals and share the calls in proportion to their {@link shareWeight} —
 * weight-proportional, load-aware, blind to latency jitter and to how much traffic each already
 * had. Instances ramping up (just recovered from an open breaker, or never reported) are not
 * judged by a score that reflects a stale outage or a neutral prior: they share as near-equals at
 * their ramp (10 % → 100 % over the slow start, 10 % while unseen).
 *
 * The shares are dealt by smooth weighted round-robin (nginx's), not drawn at random: at one
 * call at a time a random draw's shares over a minute of a few hundred calls stray ±5 points from
 * fair by chance alone; the round-robin keeps every share within a call or two of its weight.
 *
 * Candidates below the band get one call every {@link EXPLORE_EVERY_MS} per candidate set (and at
 * most one in {@link EXPLORE_MIN_PICKS}), to the one whose last report is oldest: enough for fresh
 * samples to correct a stale score (a latency spike that is over, errors that stopped), too
 * little to matter when the score is right — a really failing instance trips its breaker anyway.
 * A share of traffic instead (1 % of the best before) sent a 100-call/s set one probe a second and a
 * 1-call/s set one a minute and a half.
 *
 * O(n) with no allocation once the set is known; at most {@link SMART_MAX_SETS} sets remembered,
 * oldest first out (forgetting one only restarts its rotation and exploration clock).
 */
@SelectionStrategy(DEFAULT_STRATEGY_NAME)
@Injectable()
export class SmartStrategy implements SelectionStrategyHandler {
  // Reused across calls: pick() is synchronous, so one buffer per (singleton) instance is safe.
  private scores = new Float64Array(16);
  private readonly sets = new Map<string, SetState>();

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const scores = (this.scores = ensureCapacity(this.scores, n));
    // The best score among settled candidates (or among all, when none is settled).
    let best = 0;
    let bestAny = 0;
    let bestIndex = 0;
    for (let i = 0; i < n; i++) {
      const score = smartScore(candidates[i]);
      scores[i] = score;
      if (score > bestAny) {
        bestAny = score;
        bestIndex = i;
      }
      // Stryker disable next-line EqualityOperator: on a tie it assigns the value it already holds
      if (score > best && rampOf(candidates[i]) === 1) best = score;
    }
    const settledExist = best > 0;
    if (!settledExist) best = bestAny;
    const threshold = best * NEAR_BEST;
    const state = this.stateOf(context);
    const current = this.rotationOf(state, context, n);
    let total = 0;
    let chosen = -1;
    let stalest = -1;
    let stalestAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const candidate = candidates[i];
      const ramp = settledExist ? rampOf(candidate) : 1;
      const score = scores[i];
      const weight = ramp < 1 || score >= threshold ? shareWeight(candidate, ramp) : 0;
      if (weight > 0) {
        current[i] += weight;
        total += weight;
        if (chosen < 0 || current[i] > current[chosen]) chosen = i;
      } else {
        current[i] = 0; // out of the rotation: it rejoins without credit or debt
        if (score > 0) {
          const reportedAt = candidate.stats.lastReportAt ?? Number.NEGATIVE_INFINITY;
          if (reportedAt < stalestAt) {
            stalestAt = reportedAt;
            stalest = i;
          }
        }
      }
    }
    if (this.explores(state, context.now, stalest >= 0)) return candidates[stalest];
    // Every near-equal at weight 0 (routing weight 0): the best by score.
    if (chosen < 0) return candidates[bestIndex];
    current[chosen] -= total;
    return candidates[chosen];
  }

  score(candidate: Candidate): number {
    return smartScore(candidate);
  }

  /** How many sets smart remembers (for tests and diagnostics). */
  get trackedSets(): number {
    return this.sets.size;
  }

  private stateOf(context: SelectionContext): SetState {
    let state = this.sets.get(context.setKey);
    if (state === undefined) {
      if (this.sets.size >= SMART_MAX_SETS) {
        const oldest = this.sets.keys().next();
        if (!oldest.done) this.sets.delete(oldest.value);
      }
      state = { rotations: new Map(), exploredAt: context.now, picks: 0 };
      this.sets.set(context.setKey, state);
    }
    return state;
  }

  private rotationOf(state: SetState, context: SelectionContext, n: number): Float64Array {
    let rotation = state.rotations.get(n);
    if (rotation === undefined) {
      if (state.rotations.size >= MAX_SIZES_PER_SET) state.rotations.clear();
      rotation = new Float64Array(n);
      // A random start, so that many sets (or gateway replicas) do not all begin on one instance.
      rotation[randomIndex(context.random, n)] = 1;
      state.rotations.set(n, rotation);
    }
    return rotation;
  }

  /** Whether this pick of the set is its exploration; advances the set's clock. */
  private explores(state: SetState, now: number, belowBand: boolean): boolean {
    state.picks++;
    // Nobody below the band: the clock restarts, so an instance that just dropped out is first
    // explored EXPLORE_EVERY_MS later, not on the next call.
    if (!belowBand) {
      state.exploredAt = now;
      return false;
    }
    if (now - state.exploredAt < EXPLORE_EVERY_MS || state.picks < EXPLORE_MIN_PICKS) return false;
    state.exploredAt = now;
    state.picks = 0;
    return true;
  }
}

import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { ensureCapacity, latencyOf, nonNegative, randomIndex, slowStartOf, weightOf } from './strategy-math';

/** The strategy used when neither the request nor the project names one. */
export const DEFAULT_STRATEGY_NAME = 'smart';

/** Below ~10 ms, latency differences are network jitter; the scale makes them stop mattering. */
const LATENCY_SCALE_MS = 10;
/**
 * Candidates scoring at least this share of the best are "near-equals" and share the traffic:
 * among healthy 200 ms peers one above ~520 ms is out ((1 + L/10) more than 2.5× the best's), and
 * among equally fast ones one failing a quarter of its calls; latency jitter is not (peak-EWMAs of
 * equal instances often sit 2× apart).
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
 * - `health` ({@link healthOf}) to the fourth, so that failing costs more than speed saves: an
 *   instance failing a quarter of its calls (0.75⁴ ≈ 0.32) must be ~1.3× faster than a healthy
 *   one to stay in the band, one failing a third (≈ 0.2) 2× faster; one failing a tenth (≈ 0.66)
 *   is in at equal speed, its share then weighed by health².
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
 * The share weight of a near-equal: `weight × health² × ramp` (health taken as 1 while ramping up).
 * Weight-proportional whether calls overlap or not: the rotation deals exact proportions, so no
 * instance is flooded while its statistics catch up. Two things are deliberately absent. Latency:
 * inside the band its differences are jitter, and weighting by them let noise pick a favourite.
 * Open leases (the least-loaded balancers' in-flight count): a caller that never reports leaves
 * its lease open until the TTL, so the count reads silent callers as load — with a fifth of one
 * caller's calls unreported, shares strayed 20 points from fair within a minute.
 */
export function shareWeight(candidate: Candidate, ramp: number): number {
  const weight = weightOf(candidate);
  if (!(weight > 0)) return 0;
  // Ramping up, its window still holds the outage that opened its breaker: the ramp alone decides.
  const health = ramp < 1 ? 1 : healthOf(candidate);
  return weight * health * health * ramp;
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

/** Rotations kept per candidate set, one per membership seen lately (least recently used out). */
const ROTATIONS_PER_SET = 4;
/** Candidate positions stored over every set; beyond it everything is forgotten at once. */
export const SMART_MAX_POSITIONS = 1_000_000;

/**
 * Smooth weighted round-robin over one membership of a set: each pick adds every near-equal's
 * share weight to its credit and takes the largest, which then gives back the total.
 */
interface Rotation {
  /** Instance ids by position: a set whose members differ (another user's, a retry's) gets its own. */
  readonly ids: string[];
  readonly credits: Float64Array;
  /** When each member was last explored (epoch ms; 0: never). */
  readonly exploredAt: Float64Array;
}

/** What smart remembers of one candidate set. */
interface SetState {
  /** Most recently used first. */
  readonly rotations: Rotation[];
  /** When the set last explored (or last had nobody to explore): the next is due EXPLORE_EVERY_MS later. */
  exploredAt: number;
  /** Picks of the set since its last exploration. */
  picks: number;
}

function sameMembers(rotation: Rotation, candidates: readonly Candidate[]): boolean {
  const ids = rotation.ids;
  if (ids.length !== candidates.length) return false;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== candidates[i].instance.id) return false;
  return true;
}

/**
 * Default strategy. Every candidate gets its {@link smartScore}; those scoring at least 40 % of
 * the best are near-equals and share the calls in proportion to their {@link shareWeight} —
 * weight-proportional, blind to latency jitter, to open leases and to how much traffic each
 * already had. Instances ramping up (just recovered from an open breaker, or never reported) are not
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
 * O(n) with no allocation once the set's membership is known. A rotation is kept per membership
 * (the last {@link ROTATIONS_PER_SET} of a set: one user's instances, a retry's remainder, a canary
 * split's parts), at most {@link SMART_MAX_SETS} sets and {@link SMART_MAX_POSITIONS} positions in
 * all; forgetting one only restarts a rotation and an exploration clock.
 */
@SelectionStrategy(DEFAULT_STRATEGY_NAME)
@Injectable()
export class SmartStrategy implements SelectionStrategyHandler {
  // Reused across calls: pick() is synchronous, so one buffer per (singleton) instance is safe.
  private scores = new Float64Array(16);
  private readonly sets = new Map<string, SetState>();
  /** Positions stored over every set's rotations (bounded by SMART_MAX_POSITIONS). */
  private positions = 0;

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const scores = (this.scores = ensureCapacity(this.scores, n));
    // A weight of 0 takes no share and is not explored; only when every candidate has weight 0
    // are they all judged (one of them must serve).
    let anyWeight = false;
    for (let i = 0; i < n; i++) if (weightOf(candidates[i]) > 0) anyWeight = true;
    // The best score among settled candidates (or among all, when none is settled).
    let best = 0;
    let bestAny = 0;
    let bestIndex = 0;
    for (let i = 0; i < n; i++) {
      const candidate = candidates[i];
      const score = anyWeight && !(weightOf(candidate) > 0) ? 0 : smartScore(candidate);
      scores[i] = score;
      if (score > bestAny) {
        bestAny = score;
        bestIndex = i;
      }
      // Stryker disable next-line EqualityOperator: on a tie it assigns the value it already holds
      if (score > best && rampOf(candidate) === 1) best = score;
    }
    const settledExist = best > 0;
    if (!settledExist) best = bestAny;
    const threshold = best * NEAR_BEST;
    const state = this.stateOf(context);
    const rotation = this.rotationOf(state, candidates, context);
    const credits = rotation.credits;
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
        credits[i] += weight;
        total += weight;
        if (chosen < 0 || credits[i] > credits[chosen]) chosen = i;
      } else {
        credits[i] = 0; // out of the rotation: it rejoins without credit or debt
        if (score > 0) {
          // Explored in turn: the one neither reported nor explored for longest.
          const reportedAt = candidate.stats.lastReportAt ?? Number.NEGATIVE_INFINITY;
          const seenAt = rotation.exploredAt[i] > reportedAt ? rotation.exploredAt[i] : reportedAt;
          if (seenAt < stalestAt) {
            stalestAt = seenAt;
            stalest = i;
          }
        }
      }
    }
    if (this.explores(state, context.now, stalest >= 0)) {
      rotation.exploredAt[stalest] = context.now;
      return candidates[stalest];
    }
    // Nobody in the band with a share (every weight 0): the best by score.
    if (chosen < 0) return candidates[bestIndex];
    credits[chosen] -= total;
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
        if (!oldest.done) this.forget(oldest.value);
      }
      state = { rotations: [], exploredAt: context.now, picks: 0 };
      this.sets.set(context.setKey, state);
    } else if (state.picks % 64 === 0) {
      // Now and then, moved to the end of the insertion order: a busy set is not the oldest.
      this.sets.delete(context.setKey);
      this.sets.set(context.setKey, state);
    }
    return state;
  }

  private rotationOf(state: SetState, candidates: readonly Candidate[], context: SelectionContext): Rotation {
    const rotations = state.rotations;
    for (let r = 0; r < rotations.length; r++) {
      const rotation = rotations[r];
      if (!sameMembers(rotation, candidates)) continue;
      if (r > 0) {
        rotations.splice(r, 1);
        rotations.unshift(rotation);
      }
      return rotation;
    }
    const n = candidates.length;
    if (this.positions + n > SMART_MAX_POSITIONS) {
      this.forgetAll();
      rotations.length = 0;
      this.sets.set(context.setKey, state);
    }
    const rotation: Rotation = {
      ids: candidates.map((c) => c.instance.id),
      credits: new Float64Array(n),
      exploredAt: new Float64Array(n),
    };
    // A random start, so that many sets (or gateway replicas) do not all begin on one instance.
    rotation.credits[randomIndex(context.random, n)] = 1;
    rotations.unshift(rotation);
    this.positions += n;
    if (rotations.length > ROTATIONS_PER_SET) this.positions -= rotations.pop()?.ids.length ?? 0;
    return rotation;
  }

  private forget(setKey: string): void {
    for (const rotation of this.sets.get(setKey)?.rotations ?? []) this.positions -= rotation.ids.length;
    this.sets.delete(setKey);
  }

  private forgetAll(): void {
    this.sets.clear();
    this.positions = 0;
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

import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { ensureCapacity, pickWeighted, slowStartOf, weightOf } from './strategy-math';

/**
 * Draws a candidate with probability proportional to `routingParams.weight` (alias
 * `initial_weight`; 1 when unset) × `slowStartFactor`. A weight of 0 takes an instance out of
 * rotation, unless every candidate weighs 0: then the draw is uniform, because an empty choice
 * would fail a request that healthy instances could serve. Two passes over a reused buffer.
 */
@SelectionStrategy('weighted-random')
@Injectable()
export class WeightedRandomStrategy implements SelectionStrategyHandler {
  // Reused across calls: pick() is synchronous, so one buffer per (singleton) instance is safe.
  private weights = new Float64Array(16);

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const weights = (this.weights = ensureCapacity(this.weights, n));
    let total = 0;
    for (let i = 0; i < n; i++) {
      const weight = effectiveWeight(candidates[i]);
      weights[i] = weight;
      total += weight;
    }
    return pickWeighted(candidates, weights, total, context.random);
  }

  score(candidate: Candidate): number {
    return effectiveWeight(candidate);
  }
}

function effectiveWeight(candidate: Candidate): number {
  return weightOf(candidate) * slowStartOf(candidate);
}

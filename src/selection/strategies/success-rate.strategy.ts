import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { latencyOf, pickBest, successRateOf } from './strategy-math';

/**
 * The candidate with the highest smoothed success rate over the stats window,
 * (successes + 1) / (successes + failures + 2), so an unseen instance is neutral and more evidence
 * of success beats less (10/10 ranks above 1/1). Ties go to the lower latency, then at random.
 */
@SelectionStrategy('success-rate')
@Injectable()
export class SuccessRateStrategy implements SelectionStrategyHandler {
  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    return pickBest(candidates, bySuccessThenLatency, context.random);
  }

  score(candidate: Candidate): number {
    return successRateOf(candidate);
  }
}

function bySuccessThenLatency(a: Candidate, b: Candidate): number {
  return successRateOf(b) - successRateOf(a) || latencyOf(a) - latencyOf(b);
}

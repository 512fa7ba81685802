import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { latencyOf, pickBest } from './strategy-math';

/**
 * The candidate with the lowest peak-EWMA latency (`stats.latencyMs`, in which failures are
 * already penalised so a fast failure does not look fast). Exact ties, typically several unseen
 * instances at the neutral 1 s, are broken at random so that they share the traffic.
 */
@SelectionStrategy('least-latency')
@Injectable()
export class LeastLatencyStrategy implements SelectionStrategyHandler {
  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    return pickBest(candidates, byLatency, context.random);
  }

  /** Negated latency in ms, so that higher is better as `explain` expects. */
  score(candidate: Candidate): number {
    return -latencyOf(candidate);
  }
}

function byLatency(a: Candidate, b: Candidate): number {
  return latencyOf(a) - latencyOf(b);
}

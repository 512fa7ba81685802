import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { latencyOf, openLeasesOf, randomIndex } from './strategy-math';

/**
 * Power of two choices on open leases: two distinct candidates drawn at random, the one with
 * fewer open leases wins (then the lower latency; then the first drawn, itself random). Taking
 * the global minimum would herd: every gateway replica, working from slightly stale lease counts,
 * would send its next requests to the same instance. Two random choices keep most of the benefit
 * (the busiest instance never wins) without herding, in O(1).
 */
@SelectionStrategy('least-busy')
@Injectable()
export class LeastBusyStrategy implements SelectionStrategyHandler {
  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const first = randomIndex(context.random, n);
    // Drawn from the n - 1 others, then shifted past `first`: distinct without a retry loop.
    let second = randomIndex(context.random, n - 1);
    if (second >= first) second++;
    const a = candidates[first];
    const b = candidates[second];
    const order = openLeasesOf(b) - openLeasesOf(a) || latencyOf(b) - latencyOf(a);
    return order < 0 ? b : a;
  }

  /** Negated open leases, so that higher is better as `explain` expects. */
  score(candidate: Candidate): number {
    return -openLeasesOf(candidate);
  }
}

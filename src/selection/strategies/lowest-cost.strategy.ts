import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { SmartStrategy } from './smart.strategy';
import { costOf } from './strategy-math';

/**
 * The cheapest candidate by `routingParams.costPerUnit` (alias `cost_per_unit`); an instance
 * without a cost counts as the most expensive. Several at the cheapest price are handed to the
 * `smart` strategy, so equal-priced instances are told apart by health and latency and share the
 * traffic instead of the first one taking all of it.
 */
@SelectionStrategy('lowest-cost')
@Injectable()
export class LowestCostStrategy implements SelectionStrategyHandler {
  // Reused across calls (pick() is synchronous) and emptied after each, so no candidate is kept.
  private readonly cheapest: Candidate[] = [];

  constructor(private readonly smart: SmartStrategy) {}

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    let min = Number.POSITIVE_INFINITY;
    let minAt = 0;
    let ties = 0; // unset costs (+Infinity) tie with the initial min, so ties ≥ 1 after the loop
    for (let i = 0; i < candidates.length; i++) {
      const cost = costOf(candidates[i]);
      if (cost < min) {
        min = cost;
        minAt = i;
        ties = 1;
      } else if (cost === min) {
        // Stryker disable next-line UpdateOperator: ties is only compared with 1, and counting down from 1 (or 0) never reaches it either
        ties++;
      }
    }
    // Stryker disable next-line ConditionalExpression: shortcut; the general path hands the single cheapest to smart, which returns it as is
    if (ties === 1) return candidates[minAt];
    // No candidate has a cost: all are equally "most expensive", no need to copy them.
    // Stryker disable next-line ConditionalExpression: shortcut; the general path copies every candidate, in order, and hands the copy to smart
    if (min === Number.POSITIVE_INFINITY) return this.smart.pick(candidates, context);
    try {
      for (let i = minAt; i < candidates.length; i++) {
        if (costOf(candidates[i]) === min) this.cheapest.push(candidates[i]);
      }
      return this.smart.pick(this.cheapest, context);
    } finally {
      this.cheapest.length = 0;
    }
  }

  /** Negated cost; an unset cost scores -Number.MAX_VALUE, below any set one, and stays finite. */
  score(candidate: Candidate): number {
    const cost = costOf(candidate);
    return cost === Number.POSITIVE_INFINITY ? -Number.MAX_VALUE : -cost;
  }
}

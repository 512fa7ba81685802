import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../selection-strategy';
import { randomIndex } from './strategy-math';

/** Candidate sets whose position is remembered; beyond it the oldest set is forgotten. */
export const ROUND_ROBIN_MAX_SETS = 10_000;

/**
 * Takes the candidates of a set in turn, one position per set (`context.setKey`): a global
 * counter would be shared by every identifier and tier, so one busy identifier would make the
 * rotation of the others jump and be unfair.
 *
 * A new set starts at a random position, so that many sets (or many gateway replicas) do not all
 * send their first request to the same instance. Positions are kept for at most
 * {@link ROUND_ROBIN_MAX_SETS} sets, oldest first out (Map insertion order); forgetting a set
 * only restarts its rotation. If the set's size changes, the stored position wraps to the new
 * size. O(1) per pick, no allocation once the set is known.
 */
@SelectionStrategy('round-robin')
@Injectable()
export class RoundRobinStrategy implements SelectionStrategyHandler {
  private readonly nextBySet = new Map<string, number>();

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    const n = candidates.length;
    const stored = this.nextBySet.get(context.setKey);
    let index: number;
    if (stored === undefined) {
      index = randomIndex(context.random, n);
      this.forgetOldestIfFull();
    } else {
      index = stored % n;
    }
    this.nextBySet.set(context.setKey, index + 1 < n ? index + 1 : 0);
    return candidates[index];
  }

  /** How many sets have a remembered position (for tests and diagnostics). */
  get trackedSets(): number {
    return this.nextBySet.size;
  }

  private forgetOldestIfFull(): void {
    if (this.nextBySet.size < ROUND_ROBIN_MAX_SETS) return;
    const oldest = this.nextBySet.keys().next();
    if (!oldest.done) this.nextBySet.delete(oldest.value);
  }
}

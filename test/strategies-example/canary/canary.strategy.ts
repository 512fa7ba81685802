import { Injectable } from '@nestjs/common';
import { SelectionStrategy } from '../../../src/selection/selection-strategy.decorator';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../../../src/selection/selection-strategy';
import { SmartStrategy } from '../../../src/selection/strategies/smart.strategy';
import { type CanaryOptions, InjectCanaryOptions } from './canary-options';

/**
 * Sends a fixed share of requests to canary instances (`metadata.canary === true`) and the rest
 * to the others; within each group, the gateway's `smart` strategy chooses. When a set has only
 * one kind, all of it is used: a canary share must never turn into "no instance".
 */
@SelectionStrategy('canary')
@Injectable()
export class CanaryStrategy implements SelectionStrategyHandler {
  // A private instance, not injected: providing SmartStrategy in this module would register a
  // second strategy named "smart", which the registry rejects as a duplicate.
  private readonly smart = new SmartStrategy();
  // Reused between calls (pick() is synchronous) and emptied after each: candidates are not kept.
  private readonly group: Candidate[] = [];

  constructor(@InjectCanaryOptions() private readonly options: CanaryOptions) {}

  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate {
    let canaries = 0;
    for (const candidate of candidates) if (isCanary(candidate)) canaries++;
    if (canaries === 0 || canaries === candidates.length) return this.smart.pick(candidates, context);
    const wantCanary = context.random() < this.options.share;
    try {
      for (const candidate of candidates) if (isCanary(candidate) === wantCanary) this.group.push(candidate);
      return this.smart.pick(this.group, context);
    } finally {
      this.group.length = 0;
    }
  }

  /** The smart score: `explain` shows health and latency; the canary split is by design, not by score. */
  score(candidate: Candidate): number {
    return this.smart.score(candidate);
  }
}

function isCanary(candidate: Candidate): boolean {
  return candidate.instance.metadata?.canary === true;
}

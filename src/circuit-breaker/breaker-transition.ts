import { Injectable, Logger } from '@nestjs/common';

/** Breaker states (docs/resilience.md §2): automatic ones plus the two an operator sets. */
export const BREAKER_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'DISABLED'] as const;
export type BreakerStateName = (typeof BREAKER_STATES)[number];

/** One change of an instance's breaker state, with the reason a person can read. */
export interface BreakerTransition {
  readonly projectId: string;
  readonly instanceId: string;
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  /** "5 consecutive SERVER_ERROR", "failure rate 62 % of 13 calls in 60 s", "operator: FORCED_OPEN". */
  readonly reason: string;
  /** Epoch ms (injected clock) when the transition took effect. */
  readonly at: number;
}

/**
 * In-process fan-out of breaker transitions (this node's own): the write-behind event log,
 * Prometheus counters and the slow-start hook listen. Listeners run synchronously on the
 * request path, so they must only enqueue or count — never do I/O.
 */
@Injectable()
export class BreakerTransitions {
  private readonly logger = new Logger(BreakerTransitions.name);
  private readonly listeners = new Set<(transition: BreakerTransition) => void>();

  /** Returns a function that unsubscribes. */
  listen(listener: (transition: BreakerTransition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(transition: BreakerTransition): void {
    for (const listener of this.listeners) {
      try {
        listener(transition);
      } catch (error) {
        this.logger.error({ err: error }, 'A breaker transition listener failed');
      }
    }
  }
}

import { Injectable, Logger } from '@nestjs/common';
import type { BreakerTransition } from '../state/breaker-store';

export { BREAKER_STATES, type BreakerStateName, type BreakerTransition } from '../state/breaker-store';

/** The actor of the machine's own transitions (trips, probes, recoveries). */
export const SYSTEM_ACTOR = 'system';
/** The actor of an operator's transition whose operator was not named. */
export const UNNAMED_OPERATOR = 'operator';

/** How an admin is named as the actor of an operator's transition: `admin:<username>`. */
export function operatorActor(admin: { readonly username: string }): string {
  return `admin:${admin.username}`;
}

/** Who made a transition: its actor, else `operator` for an operator's, else `system`. */
export function actorOf(transition: Pick<BreakerTransition, 'actor' | 'reason'>): string {
  if (transition.actor !== undefined) return transition.actor;
  return transition.reason.startsWith('operator:') ? UNNAMED_OPERATOR : SYSTEM_ACTOR;
}

/**
 * In-process fan-out of breaker transitions: this node's own, and in cluster mode those other
 * nodes committed (`remote: true`). The write-behind event log and the Prometheus counters take
 * only this node's own (each transition is one row, one count, in the whole cluster); the
 * slow-start hook takes all. Listeners run synchronously on the
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

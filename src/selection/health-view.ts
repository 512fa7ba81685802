import { Inject, Injectable } from '@nestjs/common';
import type { Candidate } from './selection-strategy';

export const UNAVAILABILITY_KINDS = ['breaker', 'cooldown', 'quota'] as const;
export type UnavailabilityKind = (typeof UNAVAILABILITY_KINDS)[number];

/** Why an instance cannot be chosen now. */
export interface Unavailability {
  readonly kind: UnavailabilityKind;
  /** For people: "maxConcurrency 4 reached", "breaker OPEN after 5 consecutive SERVER_ERROR". */
  readonly reason: string;
  /** When it may become selectable again (epoch ms), if known. */
  readonly retryAt?: number;
}

export interface AdmissionRequest {
  readonly estimatedTokens?: number;
}

/**
 * The selection pipeline's view of instance health: breaker state, cool-downs and quotas. The
 * decision loop ships a view that knows leases (concurrency); the protection layer provides a
 * fuller one under the same token.
 *
 * @example
 * const why = this.health.check(candidate, now, { estimatedTokens: 800 });
 * if (why) skip(candidate, why.reason);
 */
export interface HealthView {
  /** Why the candidate cannot be chosen now, or undefined when it can. Must not mutate state. */
  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined;
}

/** Injection token of {@link HealthView}. */
export const HealthView = Symbol('HealthView');

export const InjectHealthView = (): ParameterDecorator => Inject(HealthView);

/** Concurrency only: an instance with `maxConcurrency` open leases is skipped until one closes. */
@Injectable()
export class LeaseHealthView implements HealthView {
  check(candidate: Candidate): Unavailability | undefined {
    const limit = candidate.params.maxConcurrency;
    if (limit !== undefined && candidate.stats.openLeases >= limit) {
      return { kind: 'quota', reason: `maxConcurrency ${limit} reached` };
    }
    return undefined;
  }
}

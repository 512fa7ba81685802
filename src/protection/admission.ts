import { Inject } from '@nestjs/common';
import type { Unavailability } from '../common/unavailability';
import type { ProjectSettings } from '../tenancy/project-settings';
import type { Candidate } from '../selection/selection-strategy';

export type { Unavailability, UnavailabilityKind } from '../common/unavailability';

export interface AdmissionRequest {
  readonly estimatedTokens?: number;
  /** The caller's project settings (breaker and quota defaults). */
  readonly settings: ProjectSettings;
}

/** The lease a chosen instance is about to get. */
export interface LeaseIntent {
  readonly expiresAt: number;
  /** `least-bad`: admit even though the instance is not selectable (it counts as a probe). */
  readonly force: boolean;
}

/**
 * The selection pipeline's view of instance health: breaker state, cool-downs and quotas.
 * {@link Protection} provides it; a deployment or a test may bind another under the same token.
 *
 * @example
 * const why = this.health.check(candidate, now, { estimatedTokens: 800, settings });
 * if (why) skip(candidate, why.reason);
 */
export interface HealthView {
  /**
   * Why the candidate cannot be chosen now, or undefined when it can. May advance time-driven
   * state (OPEN → HALF_OPEN), nothing else.
   */
  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined;
  /**
   * The candidate was chosen: count the decision against its quotas and, while its breaker is
   * HALF_OPEN, take a probe slot. Returns whether the lease is a probe.
   */
  admit(candidate: Candidate, now: number, request: AdmissionRequest, lease: LeaseIntent): boolean;
  /** True when the candidate's breaker is HALF_OPEN and waits for a probe call: it goes first. */
  wantsProbe(candidate: Candidate, now: number, request: AdmissionRequest): boolean;
}

/** Injection token of {@link HealthView}. */
export const HealthView = Symbol('HealthView');

export const InjectHealthView = (): ParameterDecorator => Inject(HealthView);

import { Inject } from '@nestjs/common';
import type { OutcomeClass } from '../common/outcome';
import type { Unavailability } from '../common/unavailability';
import type { RelayedLease } from '../state/lease-directory';
import type { ProjectSettings } from '../tenancy/project-settings';
import type { Candidate } from './candidate';
import type { Lease } from './lease-manager';

export type { Unavailability, UnavailabilityKind } from '../common/unavailability';

export interface AdmissionRequest {
  readonly estimatedTokens?: number;
  /** The caller's project settings (breaker and quota defaults). */
  readonly settings: ProjectSettings;
  /**
   * A selection is asking (not a read of the monitoring views): an exhausted quota is a refusal
   * then, and the first in its minute raises `quota.exhausted` (docs/alerts.md).
   */
  readonly selecting?: boolean;
}

/** The lease a chosen instance is about to get. */
export interface LeaseIntent {
  readonly expiresAt: number;
  /** `least-bad`: admit even though the instance is not selectable (it counts as a probe). */
  readonly force: boolean;
}

/** What a report teaches admission, after its lease (if any) was closed. */
export interface AdmissionFeedback {
  readonly candidate: Candidate;
  readonly outcome: OutcomeClass;
  /** The call never reached the backend (connection refused, host unknown): `reporting/unreachable.ts`. */
  readonly unreachable?: boolean;
  readonly latencyMs: number;
  /** RATE_LIMITED: the backend's Retry-After, when the caller passed it on. */
  readonly retryAfterMs?: number;
  /** Read for a Retry-After when `retryAfterMs` is absent. */
  readonly errorMessage?: string;
  /** Tokens the call really used, when reported. */
  readonly usedTokens?: number;
  /** The lease the report closed, if it closed one. */
  readonly lease: Lease | undefined;
  /**
   * Cluster mode: the report's lease is held by another node, which closes it and settles its
   * tokens; only a probe's expiry may be known here.
   */
  readonly relayed?: RelayedLease;
  readonly settings: ProjectSettings;
  /** Arrival time of the report. */
  readonly now: number;
}

/**
 * Admission control: may a candidate be chosen now, what does choosing it take (a probe slot,
 * quota), and what does a report teach (breaker, cool-down, tokens used). {@link AdmissionService}
 * provides it; a deployment or a test may bind another under the same token.
 *
 * @example
 * const why = this.admission.check(candidate, now, { estimatedTokens: 800, settings });
 * if (why) skip(candidate, why.reason);
 */
export interface AdmissionControl {
  /**
   * Why the candidate cannot be chosen now, or undefined when it can. May advance time-driven
   * state (OPEN → HALF_OPEN), nothing else.
   */
  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined;
  /** True when the candidate's breaker is HALF_OPEN and waits for a probe call: it goes first. */
  wantsProbe(candidate: Candidate, now: number, request: AdmissionRequest): boolean;
  /**
   * The candidate was chosen: count the decision against its quotas and, while its breaker is
   * HALF_OPEN, take a probe slot. Returns whether the lease is a probe.
   */
  admit(candidate: Candidate, now: number, request: AdmissionRequest, lease: LeaseIntent): boolean;
  /** A report: the breaker learns, a RATE_LIMITED outcome cools the instance down, TPM settles. */
  learn(feedback: AdmissionFeedback): void;
}

/** Injection token of {@link AdmissionControl}. */
export const AdmissionControl = Symbol('AdmissionControl');

export const InjectAdmissionControl = (): ParameterDecorator => Inject(AdmissionControl);

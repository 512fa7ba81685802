import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BreakerService } from '../circuit-breaker/breaker.service';
import type { Unavailability } from '../common/unavailability';
import { QuotaService, retryAfterFromMessage } from '../rate-limit/quota.service';
import type { AdmissionControl, AdmissionFeedback, AdmissionRequest, LeaseIntent } from './admission';
import type { Candidate } from './candidate';
import { LeaseManager } from './lease-manager';

/**
 * The gateway's {@link AdmissionControl}: circuit breakers, RATE_LIMITED cool-downs, RPM/TPM
 * quotas and `maxConcurrency` (docs/resilience.md §2–4), in that order of precedence when an
 * instance is out for several reasons. Memory only.
 */
@Injectable()
export class AdmissionService implements AdmissionControl, OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly breakers: BreakerService,
    private readonly quotas: QuotaService,
    private readonly leases: LeaseManager,
  ) {}

  /** An unreported probe frees its slot at expiry: a silent caller must not wedge the breaker. */
  onModuleInit(): void {
    this.unsubscribe = this.leases.onExpire((lease) => {
      if (lease.probe) this.breakers.releaseProbe(lease.instanceId, lease.expiresAt);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined {
    const { instance, params } = candidate;
    return (
      this.breakers.check(instance, this.breakers.configFor(instance, request.settings), now) ??
      this.quotas.check(instance.id, params, now, request.estimatedTokens) ??
      this.concurrency(candidate)
    );
  }

  wantsProbe(candidate: Candidate, now: number, request: AdmissionRequest): boolean {
    const { instance } = candidate;
    return this.breakers.wantsProbe(instance, this.breakers.configFor(instance, request.settings), now);
  }

  admit(candidate: Candidate, now: number, request: AdmissionRequest, lease: LeaseIntent): boolean {
    const { instance, params } = candidate;
    const config = this.breakers.configFor(instance, request.settings);
    const probe = this.breakers.admit(instance, config, { now, expiresAt: lease.expiresAt, force: lease.force });
    this.quotas.recordDecision(instance.id, params, now, request.estimatedTokens);
    return probe;
  }

  learn(feedback: AdmissionFeedback): void {
    const { candidate, outcome, lease, settings, now } = feedback;
    const { instance } = candidate;
    this.breakers.learn(
      instance,
      this.breakers.configFor(instance, settings),
      { outcome, latencyMs: feedback.latencyMs, probeExpiresAt: lease?.probe ? lease.expiresAt : undefined },
      now,
    );
    if (outcome === 'RATE_LIMITED') {
      const retryAfterMs = feedback.retryAfterMs ?? retryAfterFromMessage(feedback.errorMessage);
      this.quotas.coolDown(instance.id, now, retryAfterMs, settings.quotas);
    }
    this.quotas.settleTokens(
      instance.id,
      candidate.params,
      { reservedAt: lease?.openedAt ?? now, reserved: lease?.tokens ?? 0, used: feedback.usedTokens },
      now,
    );
  }

  private concurrency(candidate: Candidate): Unavailability | undefined {
    const limit = candidate.params.maxConcurrency;
    if (limit === undefined || candidate.stats.openLeases < limit) return undefined;
    return {
      kind: 'quota',
      reason: `maxConcurrency ${limit} reached`,
      retryAt: this.leases.earliestExpiry(candidate.instance.id),
    };
  }
}

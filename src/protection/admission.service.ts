import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { Clock, InjectClock } from '../common/clock';
import type { Unavailability } from '../common/unavailability';
import { QuotaService, retryAfterFromMessage } from '../rate-limit/quota.service';
import { RegistryIndex } from '../registry/registry-index';
import type { RelayedLeaseClose } from '../state/lease-directory';
import type { AdmissionControl, AdmissionFeedback, AdmissionRequest, LeaseIntent } from './admission';
import type { Candidate } from './candidate';
import { CandidatePool } from './candidate-pool';
import { type Lease, LeaseManager } from './lease-manager';

/**
 * The gateway's {@link AdmissionControl}: circuit breakers, RATE_LIMITED cool-downs, RPM/TPM
 * quotas and `maxConcurrency` (docs/resilience.md §2–4), in that order of precedence when an
 * instance is out for several reasons. Memory only.
 */
@Injectable()
export class AdmissionService implements AdmissionControl, OnModuleInit, OnModuleDestroy {
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly breakers: BreakerService,
    private readonly quotas: QuotaService,
    private readonly leases: LeaseManager,
    private readonly index: RegistryIndex,
    private readonly pool: CandidatePool,
    @InjectClock() private readonly clock: Clock,
  ) {}

  /**
   * An unreported probe frees its slot at expiry: a silent caller must not wedge the breaker. A
   * close relayed by the node that received the report settles the lease's tokens here.
   */
  onModuleInit(): void {
    this.stops.push(
      this.leases.onExpire((lease) => {
        if (lease.probe) this.breakers.releaseProbe(lease.instanceId, lease.expiresAt);
      }),
      this.leases.onRelayedClose((lease, close) => this.settleRelayed(lease, close)),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined {
    const { instance, params } = candidate;
    return (
      this.breakers.check(instance, this.breakers.configFor(instance, request.settings), now) ??
      this.quotas.check(instance.id, params, now, request.estimatedTokens, request.selecting) ??
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
    const { candidate, outcome, lease, relayed, settings, now } = feedback;
    const { instance } = candidate;
    const probeExpiresAt = lease?.probe ? lease.expiresAt : relayed?.probeExpiresAt;
    this.breakers.learn(
      instance,
      this.breakers.configFor(instance, settings),
      { outcome, latencyMs: feedback.latencyMs, probeExpiresAt, unreachable: feedback.unreachable },
      now,
    );
    if (outcome === 'RATE_LIMITED') {
      const retryAfterMs = feedback.retryAfterMs ?? retryAfterFromMessage(feedback.errorMessage);
      this.quotas.coolDown(instance.id, now, retryAfterMs, settings.quotas);
    }
    // A lease held by another node is settled there, against its reservation.
    if (relayed !== undefined) return;
    this.quotas.settleTokens(
      instance.id,
      candidate.params,
      { reservedAt: lease?.openedAt ?? now, reserved: lease?.tokens ?? 0, used: feedback.usedTokens },
      now,
    );
  }

  /**
   * The holder's half of a report another node received: the reservation is replaced by the
   * tokens used (as `learn` does for a local lease), and a probe closed without its
   * `selectionId` frees its slot (the report's node could not know it was a probe).
   */
  private settleRelayed(lease: Lease | undefined, close: RelayedLeaseClose): void {
    if (lease?.probe && close.selectionId === undefined) {
      this.breakers.releaseProbe(lease.instanceId, lease.expiresAt);
    }
    const instance = this.index.get(close.instanceId);
    if (instance === undefined || instance.projectId !== close.projectId) return;
    const now = this.clock.now();
    this.quotas.settleTokens(
      instance.id,
      this.pool.candidateFor(instance, now).params,
      { reservedAt: lease?.openedAt ?? now, reserved: lease?.tokens ?? 0, used: close.usedTokens },
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

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { BreakerConfigCache, type BreakerConfig } from '../circuit-breaker/breaker-config';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { BreakerService } from '../circuit-breaker/breaker.service';
import type { Unavailability } from '../common/unavailability';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { MinuteAggregator } from '../minute-metrics/minute-aggregator';
import { QuotaService, retryAfterFromMessage } from '../rate-limit/quota.service';
import type { InstanceRecord } from '../registry/instance-record';
import { EventBus, InjectEventBus } from '../state/event-bus';
import type { ProjectSettings } from '../tenancy/project-settings';
import type { AdmissionRequest, HealthView, LeaseIntent } from './admission';
import { type Lease, LeaseManager } from './lease-manager';
import type { IngestedReport } from '../reporting/report.service';
import type { Candidate } from '../selection/selection-strategy';

/**
 * The gateway's {@link HealthView}, and what reports and lease expiries teach it: circuit
 * breakers, RATE_LIMITED cool-downs, RPM/TPM quotas and `maxConcurrency` (RESILIENCE.md §2–4),
 * in that order of precedence when an instance is out for several reasons. Memory only.
 */
@Injectable()
export class Protection implements HealthView, OnModuleInit {
  private readonly configs = new BreakerConfigCache();

  constructor(
    private readonly breakers: BreakerService,
    private readonly quotas: QuotaService,
    private readonly leases: LeaseManager,
    private readonly stats: InstanceStatsRegistry,
    private readonly transitions: BreakerTransitions,
    @InjectEventBus() private readonly events: EventBus,
    private readonly minutes: MinuteAggregator,
  ) {}

  onModuleInit(): void {
    // Each minute row records the breaker state at the minute's end.
    this.minutes.stateOf = (instanceId) => this.breakers.stateOf(instanceId);
    // An unreported probe frees its slot at expiry: a silent caller must not wedge the breaker.
    this.leases.onExpire((lease) => {
      if (lease.probe) this.breakers.releaseProbe(lease.instanceId, lease.expiresAt);
    });
    // A recovered instance ramps up from 10 % of its weight (slow start, RESILIENCE.md §5).
    this.transitions.listen((transition) => {
      if (transition.from === 'HALF_OPEN' && transition.to === 'CLOSED') {
        this.stats.get(transition.instanceId).markJoined(transition.at);
      }
    });
    this.events.subscribe('instances.deleted', (event) => {
      for (const id of event.instanceIds) {
        this.breakers.forget(id);
        this.quotas.forget(id);
      }
    });
  }

  breakerConfig(instance: InstanceRecord, settings: ProjectSettings): BreakerConfig {
    return this.configs.for(settings.breaker, instance.routingParams);
  }

  check(candidate: Candidate, now: number, request: AdmissionRequest): Unavailability | undefined {
    const { instance, params } = candidate;
    return (
      this.breakers.check(instance, this.breakerConfig(instance, request.settings), now) ??
      this.quotas.check(instance.id, params, now, request.estimatedTokens) ??
      this.concurrency(candidate)
    );
  }

  wantsProbe(candidate: Candidate, now: number, request: AdmissionRequest): boolean {
    const { instance } = candidate;
    return this.breakers.wantsProbe(instance, this.breakerConfig(instance, request.settings), now);
  }

  admit(candidate: Candidate, now: number, request: AdmissionRequest, lease: LeaseIntent): boolean {
    const { instance, params } = candidate;
    const config = this.breakerConfig(instance, request.settings);
    const probe = this.breakers.admit(instance, config, now, lease.expiresAt, lease.force);
    this.quotas.recordDecision(instance.id, params, now, request.estimatedTokens);
    return probe;
  }

  /** A report, after its lease (if any) was closed: the breaker learns, cool-down, TPM settles. */
  learn(ingested: IngestedReport, candidate: Candidate, lease: Lease | undefined, settings: ProjectSettings): void {
    const { instance, report, outcome, receivedAt: now } = ingested;
    this.breakers.learn(
      instance,
      this.breakerConfig(instance, settings),
      { outcome, latencyMs: report.latencyMs, probeExpiresAt: lease?.probe ? lease.expiresAt : undefined },
      now,
    );
    if (outcome === 'RATE_LIMITED') {
      const retryAfterMs = report.retryAfterMs ?? retryAfterFromMessage(report.errorMessage ?? undefined);
      this.quotas.coolDown(instance.id, now, retryAfterMs, settings.quotas);
    }
    const usage = report.usageMetrics;
    const used =
      usage?.totalTokens ??
      (usage?.promptTokens !== undefined || usage?.completionTokens !== undefined
        ? (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0)
        : undefined);
    this.quotas.settleTokens(
      instance.id,
      candidate.params,
      { reservedAt: lease?.openedAt ?? now, reserved: lease?.tokens ?? 0, used },
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

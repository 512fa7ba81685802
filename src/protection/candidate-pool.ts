import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DEFAULT_INSTANCE_STATS_OPTIONS } from '../statistics/instance-stats';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import type { InstanceRecord } from '../registry/instance-record';
import { readRoutingParams } from '../registry/routing-params';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import type { Candidate } from './candidate';

const DEFAULT_FAILURE_PENALTY_MS = DEFAULT_INSTANCE_STATS_OPTIONS.failurePenaltyMs;

/**
 * One reusable {@link Candidate} per instance, so a select allocates nothing per candidate. An
 * instance's record is replaced (not mutated) on every change, so identity tells when the cached
 * typed routing parameters are stale.
 */
@Injectable()
export class CandidatePool implements OnModuleInit, OnModuleDestroy {
  private readonly candidates = new Map<string, Candidate>();

  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly stats: InstanceStatsRegistry,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = forgetDeletedInstances(this.events, (id) => this.forget(id));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  candidateFor(record: InstanceRecord, now: number): Candidate {
    let candidate = this.candidates.get(record.id);
    const stats = this.stats.get(record.id);
    if (candidate?.instance !== record) {
      const params = readRoutingParams(record.routingParams);
      // A failure is never faster than the instance's own timeout: a backend that is slow when
      // healthy must not look fast when it fails fast.
      stats.configure({ failurePenaltyMs: Math.max(DEFAULT_FAILURE_PENALTY_MS, params.timeoutMs ?? 0) });
      candidate = { instance: record, params, stats };
      this.candidates.set(record.id, candidate);
    }
    stats.refresh(now);
    return candidate;
  }

  forget(instanceId: string): void {
    this.candidates.delete(instanceId);
  }
}

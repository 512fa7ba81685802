import { Injectable } from '@nestjs/common';
import { DEFAULT_INSTANCE_STATS_OPTIONS } from '../metrics/instance-stats';
import { InstanceStatsRegistry } from '../metrics/instance-stats-registry';
import type { InstanceRecord } from '../registry/instance-record';
import { readRoutingParams } from '../registry/routing-params';
import type { Candidate } from './selection-strategy';

const DEFAULT_FAILURE_PENALTY_MS = DEFAULT_INSTANCE_STATS_OPTIONS.failurePenaltyMs;

/**
 * One reusable {@link Candidate} per instance, so a select allocates nothing per candidate. An
 * instance's record is replaced (not mutated) on every change, so identity tells when the cached
 * typed routing parameters are stale.
 */
@Injectable()
export class CandidatePool {
  private readonly candidates = new Map<string, Candidate>();

  constructor(private readonly stats: InstanceStatsRegistry) {}

  candidateFor(record: InstanceRecord, now: number): Candidate {
    let candidate = this.candidates.get(record.id);
    if (candidate?.instance !== record) {
      candidate = {
        instance: record,
        params: readRoutingParams(record.routingParams),
        stats: this.stats.get(record.id),
      };
      this.candidates.set(record.id, candidate);
    }
    this.stats.get(record.id).refresh(now);
    return candidate;
  }

  forget(instanceId: string): void {
    this.candidates.delete(instanceId);
  }
}

import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DEFAULT_INSTANCE_STATS_OPTIONS, type InstanceStats } from '../statistics/instance-stats';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import type { InstanceRecord } from '../registry/instance-record';
import { readRoutingParams } from '../registry/routing-params';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import type { Candidate } from './candidate';

const DEFAULT_FAILURE_PENALTY_MS = DEFAULT_INSTANCE_STATS_OPTIONS.failurePenaltyMs;

/** The candidates of one shared record list, and the stats each refreshes (see candidatesOf). */
interface CandidateList {
  readonly generation: number;
  readonly candidates: readonly Candidate[];
  readonly stats: readonly InstanceStats[];
}

/**
 * One reusable {@link Candidate} per instance, so a select allocates nothing per candidate. An
 * instance's record is replaced (not mutated) on every change, so identity tells when the cached
 * typed routing parameters are stale.
 */
@Injectable()
export class CandidatePool implements OnModuleInit, OnModuleDestroy {
  private readonly candidates = new Map<string, Candidate>();
  /** By the record list the registry index shares (frozen; a new list whenever a member changes). */
  private readonly lists = new WeakMap<readonly InstanceRecord[], CandidateList>();
  /** Bumped when an instance is forgotten: every kept list is made again on its next use. */
  private generation = 0;

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

  /**
   * {@link candidateFor} of every record of a list the registry index shares, kept per list: a
   * select of an identifier then looks nothing up per candidate, it only refreshes their stats to
   * `now`. Not for lists made per request (a user's): they would be kept for nothing.
   */
  candidatesOf(records: readonly InstanceRecord[], now: number): readonly Candidate[] {
    const list = this.lists.get(records);
    if (list === undefined || list.generation !== this.generation) {
      const candidates = records.map((record) => this.candidateFor(record, now));
      const stats = records.map((record) => this.stats.get(record.id));
      this.lists.set(records, { generation: this.generation, candidates, stats });
      return candidates;
    }
    for (const stats of list.stats) stats.refresh(now);
    return list.candidates;
  }

  forget(instanceId: string): void {
    this.candidates.delete(instanceId);
    this.generation++;
  }
}

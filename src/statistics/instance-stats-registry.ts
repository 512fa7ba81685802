import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import { InstanceStats } from './instance-stats';
import type { StatsOutbox } from './stats-outbox';

/**
 * The live {@link InstanceStats} of every instance this process has seen, by instance id.
 * `get` creates on first use so the report and selection paths never branch on "unknown";
 * `peek` is for readers (monitoring, lease release) that must not resurrect a removed instance.
 *
 * Subclass and override {@link InstanceStatsRegistry.create} to give instances non-default
 * options (e.g. a failure penalty at or above their `timeoutMs`).
 *
 * @example
 * const stats = registry.get(instance.id);
 * stats.record({ at: clock.now(), outcome: classifyOutcome(report), latencyMs: report.latencyMs });
 * registry.remove(deletedId); // on instance deletion
 */
@Injectable()
export class InstanceStatsRegistry implements OnModuleInit, OnModuleDestroy {
  private readonly stats = new Map<string, InstanceStats>();
  private readonly unsubscribe: (() => void)[] = [];
  private outboxFor: ((instanceId: string) => StatsOutbox) | undefined;

  constructor(
    @InjectEventBus() private readonly events: EventBus,
    private readonly transitions: BreakerTransitions,
  ) {}

  onModuleInit(): void {
    this.unsubscribe.push(
      forgetDeletedInstances(this.events, (id) => this.remove(id)),
      // A recovered instance ramps up from 10 % of its weight (slow start, docs/resilience.md §5).
      this.transitions.listen((transition) => {
        if (transition.from === 'HALF_OPEN' && transition.to === 'CLOSED') {
          this.get(transition.instanceId).markJoined(transition.at);
        }
      }),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  get size(): number {
    return this.stats.size;
  }

  /** The stats of `instanceId`, created (settled, neutral latency) if there are none yet. */
  get(instanceId: string): InstanceStats {
    let stats = this.stats.get(instanceId);
    if (stats === undefined) {
      stats = this.create(instanceId);
      if (this.outboxFor !== undefined) stats.shareTo(this.outboxFor(instanceId));
      this.stats.set(instanceId, stats);
    }
    return stats;
  }

  peek(instanceId: string): InstanceStats | undefined {
    return this.stats.get(instanceId);
  }

  /** Forgets an instance; returns whether it was known. A later `get` starts from scratch. */
  remove(instanceId: string): boolean {
    return this.stats.delete(instanceId);
  }

  /**
   * Cluster mode ({@link StatsSharing}): every instance's stats, present and future, also add what
   * they record to the outbox `outboxFor` gives them. Undefined stops sharing.
   */
  shareWith(outboxFor: ((instanceId: string) => StatsOutbox) | undefined): void {
    this.outboxFor = outboxFor;
    for (const [id, stats] of this.stats) stats.shareTo(outboxFor?.(id));
  }

  /** Ids and stats, for monitoring. */
  entries(): IterableIterator<[string, InstanceStats]> {
    return this.stats.entries();
  }

  protected create(_instanceId: string): InstanceStats {
    return new InstanceStats();
  }
}

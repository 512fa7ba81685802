import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { OUTCOME_CLASSES } from '../common/outcome';
import { EventBus, InjectEventBus } from '../state/event-bus';
import type { InstanceStatsDelta, StatsDeltaBucket, StatsDeltaLatency } from '../state/stats-exchange';
import { InjectStatsExchange, StatsExchange } from '../state/stats-exchange';
import { isAmount } from './rolling-window';
import { InstanceStatsRegistry } from './instance-stats-registry';
import { StatsOutbox } from './stats-outbox';

/** How often this node sends what it learned: "within about a second" with room to spare. */
export const STATS_BATCH_MS = 250;
/** A deleted instance's batches still in flight from other nodes are ignored this long. */
const DELETED_MEMORY_MS = 120_000;
const MAX_BUCKETS = 8;
const OUTCOMES: ReadonlySet<string> = new Set(OUTCOME_CLASSES);

/**
 * Cluster mode: the rolling statistics of every node learn from every node's reports. Each
 * instance's stats add what they record to a {@link StatsOutbox} (O(1), no allocation); every
 * {@link STATS_BATCH_MS} the outboxes that got reports become one batch of deltas on the
 * {@link StatsExchange}. Batches from the other nodes are applied with `InstanceStats.absorb`,
 * which counts them as if reported here — without passing them to the outbox, so nothing is
 * sent twice. Minute metrics are not touched: the node that received a report writes its rows.
 * On a single node (`exchange.enabled` false) this does nothing at all.
 *
 * @example
 * // node A: reports recorded as usual; within ~250 ms node B's stats for the instance moved too
 * reports.report(project, { instanceId, success: true, latencyMs: 120, ... });
 */
@Injectable()
export class StatsSharing implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Statistics');
  /** Outboxes with reports since the last flush. */
  private dirty: StatsOutbox[] = [];
  /** Instance id → until when its batches are ignored (it was deleted). */
  private readonly deleted = new Map<string, number>();
  private readonly stops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private malformedLogged = false;

  constructor(
    private readonly registry: InstanceStatsRegistry,
    @InjectStatsExchange() private readonly exchange: StatsExchange,
    @InjectEventBus() private readonly events: EventBus,
    @InjectClock() private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    if (!this.exchange.enabled) return;
    this.registry.shareWith((instanceId) => new StatsOutbox(instanceId, (outbox) => this.dirty.push(outbox)));
    this.stops.push(
      this.exchange.subscribe((deltas, from) => this.absorb(deltas, from)),
      this.events.subscribe('instances.deleted', (event) => {
        const now = this.clock.now();
        for (const [id, until] of this.deleted) if (until <= now) this.deleted.delete(id);
        for (const id of event.instanceIds) this.deleted.set(id, now + DELETED_MEMORY_MS);
      }),
    );
    this.timer = setInterval(() => this.flush(), STATS_BATCH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const stop of this.stops.splice(0)) stop();
    if (this.exchange.enabled) {
      this.flush();
      this.registry.shareWith(undefined);
    }
  }

  /** Sends what this node learned since the last flush (the timer calls it; tests may too). */
  flush(): void {
    if (this.dirty.length === 0) return;
    const now = this.clock.now();
    const outboxes = this.dirty;
    this.dirty = [];
    const deltas: InstanceStatsDelta[] = [];
    for (const outbox of outboxes) {
      if (this.deleted.has(outbox.instanceId)) {
        outbox.discard();
        continue;
      }
      const delta = outbox.take(now);
      if (delta !== undefined) deltas.push(delta);
    }
    this.exchange.publish(deltas);
  }

  /** Applies another node's batch to this node's statistics. */
  absorb(deltas: readonly unknown[], from: string): void {
    const now = this.clock.now();
    for (const data of deltas) {
      const delta = parseDelta(data);
      if (delta === undefined) {
        if (!this.malformedLogged) this.logger.warn(`Ignored malformed statistics from node ${from}`);
        this.malformedLogged = true;
        continue;
      }
      if (this.deleted.has(delta.instanceId)) continue;
      this.registry.get(delta.instanceId).absorb(delta, now);
    }
  }
}

/**
 * A delta from the wire, checked: every amount finite and ≥ 0 (one NaN would poison a running
 * total for the next minute), outcome classes known. Undefined when anything is off.
 */
export function parseDelta(data: unknown): InstanceStatsDelta | undefined {
  if (!isRecord(data) || typeof data.instanceId !== 'string' || data.instanceId === '') return undefined;
  const buckets = data.buckets;
  if (!Array.isArray(buckets) || buckets.length === 0 || buckets.length > MAX_BUCKETS) return undefined;
  const parsed: StatsDeltaBucket[] = [];
  for (const bucket of buckets as unknown[]) {
    if (!isRecord(bucket) || !isRecord(bucket.outcomes)) return undefined;
    const outcomes = bucket.outcomes;
    for (const [outcome, count] of Object.entries(outcomes)) {
      if (!OUTCOMES.has(outcome) || typeof count !== 'number' || !isAmount(count)) return undefined;
    }
    if (!amounts(bucket, ['ago', 'promptTokens', 'completionTokens', 'totalTokens', 'cost'])) return undefined;
    parsed.push(bucket as unknown as StatsDeltaBucket);
  }
  const delta: { -readonly [K in keyof InstanceStatsDelta]: InstanceStatsDelta[K] } = {
    instanceId: data.instanceId,
    buckets: parsed,
  };
  if (data.latency !== undefined) {
    const latency = data.latency;
    const fields = ['beforeCount', 'beforeMean', 'beforeAgo', 'peak', 'peakAgo', 'afterCount', 'afterMean', 'afterAgo'];
    if (!isRecord(latency) || !amounts(latency, fields)) return undefined;
    delta.latency = latency as unknown as StatsDeltaLatency;
  }
  if (data.ttft !== undefined) {
    const ttft = data.ttft;
    if (!isRecord(ttft) || !amounts(ttft, ['count', 'mean', 'ago'])) return undefined;
    delta.ttft = ttft as unknown as InstanceStatsDelta['ttft'];
  }
  return delta;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function amounts(record: Record<string, unknown>, fields: readonly string[]): boolean {
  return fields.every((field) => {
    const value = record[field];
    return typeof value === 'number' && isAmount(value);
  });
}

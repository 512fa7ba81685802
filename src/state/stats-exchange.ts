import { Inject, Injectable } from '@nestjs/common';
import type { OutcomeClass } from '../common/outcome';

/**
 * Reports one node counted in one second of its rolling window, for one instance. Times are ms
 * before the batch was sent, so the receiver dates them by its own clock (no clock skew).
 */
export interface StatsDeltaBucket {
  /** How long before sending the bucket's newest report arrived, ms. */
  readonly ago: number;
  /** Reports by outcome class (classes without reports left out). */
  readonly outcomes: Partial<Record<OutcomeClass, number>>;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly cost: number;
}

/**
 * Latency samples of a batch (already as the latency policy took them: failures penalised,
 * rate limits and client errors left out), reduced to three points in time order so that a
 * peak-EWMA fed with them moves as if fed with every sample: the mean of those before the
 * largest, the largest, the mean of those after it. A batch of one or two samples is exact.
 */
export interface StatsDeltaLatency {
  readonly beforeCount: number;
  readonly beforeMean: number;
  /** ms before sending of the last sample before the peak. */
  readonly beforeAgo: number;
  readonly peak: number;
  readonly peakAgo: number;
  readonly afterCount: number;
  readonly afterMean: number;
  readonly afterAgo: number;
}

/** What one node learned of one instance in one batch (~250 ms): additive, never a snapshot. */
export interface InstanceStatsDelta {
  readonly instanceId: string;
  /** Window counts, one entry per second that had reports, oldest first. */
  readonly buckets: readonly StatsDeltaBucket[];
  /** Absent when no report of the batch was a latency sample. */
  readonly latency?: StatsDeltaLatency;
  /** Time to first token: the batch's mean, dated at its last sample. */
  readonly ttft?: { readonly count: number; readonly mean: number; readonly ago: number };
}

/**
 * How nodes share what their rolling statistics learn (cluster mode): each node sends batches of
 * {@link InstanceStatsDelta} a few times a second, and applies the others' as if reported to it.
 * Statistics (`statistics/`) batch and apply; this seam only carries. The memory implementation
 * has no one to share with (`enabled` false), so a single node does no batching at all.
 *
 * @example
 * if (exchange.enabled) exchange.publish(deltas);
 * exchange.subscribe((deltas, fromNode) => deltas.forEach((delta) => this.apply(delta)));
 */
export interface StatsExchange {
  /** Whether there are other nodes to share with; false on a single node. */
  readonly enabled: boolean;
  /** Sends one batch to every other node; never throws, never waits (lost while Redis is down). */
  publish(deltas: readonly InstanceStatsDelta[]): void;
  /** Batches from other nodes, never this node's own. Returns an unsubscribe. */
  subscribe(listener: (deltas: readonly unknown[], fromNode: string) => void): () => void;
}

/** Injection token of {@link StatsExchange}. */
export const StatsExchange = Symbol('StatsExchange');

export const InjectStatsExchange = (): ParameterDecorator => Inject(StatsExchange);

/** A single node: nothing to share, nothing to receive. */
@Injectable()
export class MemoryStatsExchange implements StatsExchange {
  readonly enabled = false;

  publish(): void {
    // No other node.
  }

  subscribe(): () => void {
    return () => undefined;
  }
}

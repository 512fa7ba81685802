import { Injectable } from '@nestjs/common';
import type { InstanceStatsDelta, StatsExchange } from '../state/stats-exchange';
import { ClusterBus } from './cluster-bus';

const KIND = 'stats';

/**
 * Statistics batches between the nodes of a cluster, over the {@link ClusterBus}. Nothing is
 * stored in Redis: statistics are a 60 s window rebuilt by new reports, so a batch lost while
 * Redis is away is simply not counted on the other nodes (no resync).
 *
 * @example
 * exchange.publish([{ instanceId, buckets: [...] }]); // every other node's subscribers get it
 */
@Injectable()
export class RedisStatsExchange implements StatsExchange {
  readonly enabled = true;

  constructor(private readonly bus: ClusterBus) {}

  publish(deltas: readonly InstanceStatsDelta[]): void {
    if (deltas.length > 0) this.bus.send(KIND, deltas);
  }

  subscribe(listener: (deltas: readonly unknown[], fromNode: string) => void): () => void {
    return this.bus.on(KIND, (data, from) => {
      if (Array.isArray(data)) listener(data, from);
    });
  }
}

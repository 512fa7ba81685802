import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ClusterConfig } from '../config/cluster-config';
import { AffinityStore } from '../state/affinity-store';
import { BreakerStore } from '../state/breaker-store';
import { ClusterStatus } from '../state/cluster-status';
import { CounterStore } from '../state/counter-store';
import { EventBus } from '../state/event-bus';
import { LeaseDirectory } from '../state/lease-directory';
import { StatsExchange } from '../state/stats-exchange';
import { ClusterBus } from './cluster-bus';
import { ClusterLeaseDirectory } from './cluster-lease-directory';
import { RedisAffinityStore } from './redis-affinity-store';
import { RedisBreakerStore } from './redis-breaker-store';
import { RedisClusterStatus } from './redis-cluster-status';
import { RedisCounterStore } from './redis-counter-store';
import { RedisEventBus } from './redis-event-bus';
import { RedisLink } from './redis-link';
import { RedisStatsExchange } from './redis-stats-exchange';

/** How long a starting node waits for Redis before it starts on local state alone. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Cluster mode (`REDIS_URL`): the state seams of the single-node {@link StateModule} behind the same
 * tokens, shared through Redis. Decisions still read memory; Redis is written and read behind them.
 */
@Global()
@Module({})
export class ClusterModule {
  static forRoot(config: ClusterConfig): DynamicModule {
    return {
      module: ClusterModule,
      providers: [
        {
          provide: RedisLink,
          useFactory: async () => {
            const link = new RedisLink(config);
            await link.connect(CONNECT_TIMEOUT_MS);
            return link;
          },
        },
        ClusterBus,
        RedisEventBus,
        { provide: EventBus, useExisting: RedisEventBus },
        { provide: AffinityStore, useClass: RedisAffinityStore },
        RedisBreakerStore,
        { provide: BreakerStore, useExisting: RedisBreakerStore },
        { provide: CounterStore, useClass: RedisCounterStore },
        { provide: LeaseDirectory, useClass: ClusterLeaseDirectory },
        { provide: ClusterStatus, useClass: RedisClusterStatus },
        { provide: StatsExchange, useClass: RedisStatsExchange },
      ],
      exports: [
        RedisLink,
        ClusterBus,
        EventBus,
        AffinityStore,
        BreakerStore,
        CounterStore,
        ClusterStatus,
        StatsExchange,
        LeaseDirectory,
      ],
    };
  }
}

import { Global, Module } from '@nestjs/common';
import { AffinityStore, MemoryAffinityStore } from './affinity-store';
import { BreakerStore, MemoryBreakerStore } from './breaker-store';
import { ClusterStatus, SingleNodeStatus } from './cluster-status';
import { CounterStore, MemoryCounterStore } from './counter-store';
import { EventBus, MemoryEventBus } from './event-bus';
import { LeaseDirectory, MemoryLeaseDirectory } from './lease-directory';
import { MemoryStatsExchange, StatsExchange } from './stats-exchange';

/**
 * The seams to shared state. Memory implementations now; cluster mode swaps in Redis ones
 * behind the same tokens.
 */
@Global()
@Module({
  providers: [
    { provide: EventBus, useClass: MemoryEventBus },
    { provide: AffinityStore, useClass: MemoryAffinityStore },
    { provide: BreakerStore, useClass: MemoryBreakerStore },
    { provide: CounterStore, useClass: MemoryCounterStore },
    { provide: LeaseDirectory, useClass: MemoryLeaseDirectory },
    { provide: ClusterStatus, useClass: SingleNodeStatus },
    { provide: StatsExchange, useClass: MemoryStatsExchange },
  ],
  exports: [EventBus, AffinityStore, BreakerStore, CounterStore, ClusterStatus, StatsExchange, LeaseDirectory],
})
export class StateModule {}

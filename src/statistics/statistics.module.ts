import { Module } from '@nestjs/common';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { InstanceStatsRegistry } from './instance-stats-registry';
import { StatsSharing } from './stats-sharing';

/**
 * What the gateway learns from reports, live: per-instance rolling statistics (memory), shared
 * with the other nodes in cluster mode ({@link StatsSharing}).
 */
@Module({
  imports: [CircuitBreakerModule],
  providers: [InstanceStatsRegistry, StatsSharing],
  exports: [InstanceStatsRegistry],
})
export class StatisticsModule {}

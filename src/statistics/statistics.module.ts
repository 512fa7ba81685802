import { Module } from '@nestjs/common';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { InstanceStatsRegistry } from './instance-stats-registry';

/** What the gateway learns from reports, live: per-instance rolling statistics (memory only). */
@Module({
  imports: [CircuitBreakerModule],
  providers: [InstanceStatsRegistry],
  exports: [InstanceStatsRegistry],
})
export class StatisticsModule {}

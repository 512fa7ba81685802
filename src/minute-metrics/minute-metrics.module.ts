import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { InstanceMetricsMinuteSchema } from './entities/instance-metrics-minute.schema';
import { MinuteAggregator } from './minute-aggregator';
import { MinuteMetricsStore } from './minute-metrics.store';

/** Durable per-instance minute metrics: aggregated in memory, written behind to `instance_metrics_minute`. */
@Module({
  imports: [TypeOrmModule.forFeature([InstanceMetricsMinuteSchema]), CircuitBreakerModule],
  providers: [MinuteMetricsStore, MinuteAggregator],
  exports: [MinuteAggregator, MinuteMetricsStore, TypeOrmModule],
})
export class MinuteMetricsModule {}

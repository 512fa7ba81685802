import { Module } from '@nestjs/common';
import { InstanceStatsRegistry } from './instance-stats-registry';

/** What the gateway learns from reports: rolling per-instance statistics (minute aggregates later). */
@Module({
  providers: [InstanceStatsRegistry],
  exports: [InstanceStatsRegistry],
})
export class MetricsModule {}

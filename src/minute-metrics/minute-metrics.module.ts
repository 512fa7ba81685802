import { Module, type OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { InstanceMetricsMinuteSchema } from './entities/instance-metrics-minute.schema';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { MinuteAggregator } from './minute-aggregator';
import { MinuteMetricsStore } from './minute-metrics.store';

/** What the gateway learns from reports: rolling per-instance statistics and durable minute metrics. */
@Module({
  imports: [TypeOrmModule.forFeature([InstanceMetricsMinuteSchema])],
  providers: [InstanceStatsRegistry, MinuteMetricsStore, MinuteAggregator],
  exports: [InstanceStatsRegistry, MinuteAggregator, MinuteMetricsStore, TypeOrmModule],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    @InjectEventBus() private readonly events: EventBus,
    private readonly aggregator: MinuteAggregator,
  ) {}

  onModuleInit(): void {
    this.events.subscribe('project.deleted', (event) => this.aggregator.dropProject(event.projectId));
  }
}

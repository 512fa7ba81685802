import { Module, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MetricsModule } from '../metrics/metrics.module';
import { RegistryModule } from '../registry/registry.module';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { InstanceStatsRegistry } from '../metrics/instance-stats-registry';
import { CandidatePool } from './candidate-pool';
import { GatewayController } from './gateway.controller';
import { HealthView, LeaseHealthView } from './health-view';
import { LeaseManager } from './lease-manager';
import { ReportService } from './report.service';
import { SelectionService } from './selection.service';
import { StrategyRegistry } from './strategy-registry';
import { BUILTIN_STRATEGIES } from './strategies/builtin-strategies';

/** The decision loop: select-instance and report-result, strategies, tiers, fallback, affinity, leases. */
@Module({
  imports: [DiscoveryModule, RegistryModule, MetricsModule],
  controllers: [GatewayController],
  providers: [
    ...BUILTIN_STRATEGIES,
    StrategyRegistry,
    CandidatePool,
    LeaseManager,
    SelectionService,
    ReportService,
    { provide: HealthView, useClass: LeaseHealthView },
  ],
  exports: [StrategyRegistry, LeaseManager, SelectionService, HealthView],
})
export class SelectionModule implements OnModuleInit {
  constructor(
    @InjectEventBus() private readonly events: EventBus,
    private readonly leases: LeaseManager,
    private readonly pool: CandidatePool,
    private readonly stats: InstanceStatsRegistry,
  ) {}

  /** Deleted instances take their leases, cached candidate and statistics with them. */
  onModuleInit(): void {
    this.events.subscribe('instances.deleted', (event) => {
      for (const id of event.instanceIds) {
        this.leases.dropInstance(id);
        this.pool.forget(id);
        this.stats.remove(id);
      }
    });
    this.leases.startSweeper(1000);
  }
}

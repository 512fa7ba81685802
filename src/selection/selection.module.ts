import { Module, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MetricsModule } from '../minute-metrics/minute-metrics.module';
import { RegistryModule } from '../registry/registry.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { CandidatePool } from '../protection/candidate-pool';
import { GatewayController } from './gateway.controller';
import { AdminCircuitController, InstanceHealthController } from '../protection/instance-health.controller';
import { InstanceHealthService } from '../protection/instance-health.service';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { HealthView } from '../protection/admission';
import { OperatorStateRestore } from '../protection/operator-state-restore';
import { Protection } from '../protection/admission.service';
import { LeaseManager } from '../protection/lease-manager';
import { ReportService } from '../reporting/report.service';
import { SelectionService } from './selection.service';
import { StrategyRegistry } from './strategy-registry';
import { BUILTIN_STRATEGIES } from './strategies/builtin-strategies';

/** The decision loop: select-instance and report-result, strategies, tiers, fallback, affinity, leases. */
@Module({
  imports: [DiscoveryModule, TenancyModule, RegistryModule, MetricsModule, CircuitBreakerModule, RateLimitModule],
  controllers: [GatewayController, InstanceHealthController, AdminCircuitController],
  providers: [
    ...BUILTIN_STRATEGIES,
    StrategyRegistry,
    CandidatePool,
    LeaseManager,
    SelectionService,
    ReportService,
    Protection,
    InstanceHealthService,
    OperatorStateRestore,
    { provide: HealthView, useExisting: Protection },
  ],
  exports: [
    StrategyRegistry,
    LeaseManager,
    SelectionService,
    HealthView,
    Protection,
    CandidatePool,
    InstanceHealthService,
    RegistryModule,
    MetricsModule,
    CircuitBreakerModule,
    RateLimitModule,
  ],
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

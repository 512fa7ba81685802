import { TenancyModule } from '../tenancy/tenancy.module';
import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MinuteMetricsModule } from '../minute-metrics/minute-metrics.module';
import { ProtectionModule } from '../protection/protection.module';
import { RegistryModule } from '../registry/registry.module';
import { ReportingModule } from '../reporting/reporting.module';
import { GatewayController } from './gateway.controller';
import { SelectionService } from './selection.service';
import { StrategyRegistry } from './strategy-registry';
import { BUILTIN_STRATEGIES } from './strategies/builtin-strategies';

/** The hot path: select-instance (tiers, fallback, affinity, strategies) and its controller, which also takes reports. */
@Module({
  imports: [DiscoveryModule, RegistryModule, ProtectionModule, ReportingModule, MinuteMetricsModule, TenancyModule],
  controllers: [GatewayController],
  providers: [...BUILTIN_STRATEGIES, StrategyRegistry, SelectionService],
  exports: [StrategyRegistry, SelectionService],
})
export class SelectionModule {}

import { Module } from '@nestjs/common';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { MinuteMetricsModule } from '../minute-metrics/minute-metrics.module';
import { ProtectionModule } from '../protection/protection.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { RegistryModule } from '../registry/registry.module';
import { ReportingModule } from '../reporting/reporting.module';
import { StatisticsModule } from '../statistics/statistics.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { MinuteQueries } from './minute-queries';
import { AdminMonitoringController } from './admin-monitoring.controller';
import { AdminObservationController } from './admin-observation.controller';
import { ProjectMonitoringController } from './project-monitoring.controller';
import { MonitoringService } from './monitoring.service';

/** The reference's monitoring and observation views, and a project's own, over live state and minute metrics. */
@Module({
  imports: [
    TenancyModule,
    RegistryModule,
    StatisticsModule,
    ProtectionModule,
    CircuitBreakerModule,
    RateLimitModule,
    MinuteMetricsModule,
    ReportingModule,
  ],
  controllers: [AdminMonitoringController, AdminObservationController, ProjectMonitoringController],
  providers: [MinuteQueries, MonitoringService],
  exports: [MonitoringService, MinuteQueries],
})
export class MonitoringModule {}

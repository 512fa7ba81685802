import { Module } from '@nestjs/common';
import { MinuteMetricsModule } from '../minute-metrics/minute-metrics.module';
import { ProtectionModule } from '../protection/protection.module';
import { RegistryModule } from '../registry/registry.module';
import { StatisticsModule } from '../statistics/statistics.module';
import { LastErrors } from './last-errors';
import { ReportService } from './report.service';

/** report-result: outcomes classified once, then taught to statistics, leases, admission and minute metrics. */
@Module({
  imports: [RegistryModule, StatisticsModule, ProtectionModule, MinuteMetricsModule],
  providers: [ReportService, LastErrors],
  exports: [ReportService, LastErrors],
})
export class ReportingModule {}

import { Module } from '@nestjs/common';
import { SelectionModule } from '../selection/selection.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { MinuteQueries } from './minute-queries';
import {
  AdminMonitoringController,
  AdminObservationController,
  ProjectMonitoringController,
} from './monitoring.controllers';
import { MonitoringService } from './monitoring.service';

/** The reference's monitoring and observation views, and a project's own, over live state and minute metrics. */
@Module({
  imports: [SelectionModule, TenancyModule],
  controllers: [AdminMonitoringController, AdminObservationController, ProjectMonitoringController],
  providers: [MinuteQueries, MonitoringService],
  exports: [MonitoringService, MinuteQueries],
})
export class MonitoringModule {}

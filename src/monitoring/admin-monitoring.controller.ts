import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import {
  InstanceMonitoringDto,
  MonitoringInstancesQueryDto,
  MonitoringOverviewDto,
  MonitoringOverviewQueryDto,
  TimeSeriesDto,
  TimeSeriesQueryDto,
} from './dto/monitoring.dto';
import { MonitoringService } from './monitoring.service';

/** [reference shapes] Monitoring across projects (admin JWT). */
@ApiTags('admin: monitoring')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/monitoring')
export class AdminMonitoringController {
  constructor(private readonly monitoring: MonitoringService) {}

  /** Instance counts now, and calls, success rate, latency, tokens and cost over the last 10 minutes. */
  @Get('overview')
  @ApiEnvelope(MonitoringOverviewDto)
  @ApiErrors('VALIDATION_FAILED')
  overview(@Query() query: MonitoringOverviewQueryDto): Promise<MonitoringOverviewDto> {
    return this.monitoring.overview(query.projectId);
  }

  /** Every instance with its live gateway status, breaker, leases, quotas and last-60-s figures. */
  @Get('instances')
  @ApiEnvelope(InstanceMonitoringDto, { isArray: true })
  @ApiErrors('VALIDATION_FAILED')
  instances(@Query() query: MonitoringInstancesQueryDto): Promise<InstanceMonitoringDto[]> {
    return this.monitoring.instances(query);
  }

  /** Calls, success rate, latency percentiles, tokens and cost per bucket over `timeRange`. */
  @Get('timeseries')
  @ApiEnvelope(TimeSeriesDto)
  @ApiErrors('VALIDATION_FAILED')
  timeseries(@Query() query: TimeSeriesQueryDto): Promise<TimeSeriesDto> {
    return this.monitoring.timeseries(query.timeRange, { projectId: query.projectId, instanceId: query.instanceId });
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import {
  FleetDto,
  FleetQueryDto,
  InstanceMonitoringDto,
  InstanceSeriesDto,
  InstanceSeriesQueryDto,
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

  /** Instance counts now, and calls, success rate, latency, tokens and cost over `timeWindow` (default 10m). */
  @Get('overview')
  @ApiEnvelope(MonitoringOverviewDto)
  @ApiErrors('VALIDATION_FAILED')
  overview(@Query() query: MonitoringOverviewQueryDto): Promise<MonitoringOverviewDto> {
    return this.monitoring.overview(query.projectId, query.timeWindow);
  }

  /** Every project at a glance: totals, open breakers with their next probe, degraded APIs, top error classes. */
  @Get('fleet')
  @ApiEnvelope(FleetDto)
  @ApiErrors('VALIDATION_FAILED')
  fleet(@Query() query: FleetQueryDto): Promise<FleetDto> {
    return this.monitoring.fleet(query.timeWindow);
  }

  /** Up to 50 instances' series side by side (`instanceIds=a,b,c`), points as in `timeseries`. */
  @Get('instances/series')
  @ApiEnvelope(InstanceSeriesDto, { isArray: true })
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  instanceSeries(@Query() query: InstanceSeriesQueryDto): Promise<InstanceSeriesDto[]> {
    return this.monitoring.instanceSeries(query.instanceIds, query.timeRange);
  }

  /** Every instance with its live gateway status, breaker, leases and quotas, and its figures over `timeWindow` (default 10m). */
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

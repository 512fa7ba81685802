import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentProject } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import type { ProjectPrincipal } from '../tenancy/principal';
import {
  InstanceMonitoringDto,
  InstanceObservationDto,
  MonitoringInstancesQueryDto,
  MonitoringOverviewDto,
  MonitoringOverviewQueryDto,
  ObservationOverviewDto,
  ObservationQueryDto,
  ProjectInstancesQueryDto,
  ProjectTimeSeriesQueryDto,
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

/** [reference shapes] Observation over a time window (admin JWT). */
@ApiTags('admin: monitoring')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/observation')
export class AdminObservationController {
  constructor(private readonly monitoring: MonitoringService) {}

  /** Counts by gateway status and call figures over `timeWindow` (the gatewayStatus filter does not apply). */
  @Get('overview')
  @ApiEnvelope(ObservationOverviewDto)
  @ApiErrors('VALIDATION_FAILED')
  async overview(@Query() query: ObservationQueryDto): Promise<ObservationOverviewDto> {
    return (await this.monitoring.observation(query.timeWindow, query)).overview;
  }

  /** Each instance's calls, success rate, latency and status over `timeWindow`. */
  @Get('instances')
  @ApiEnvelope(InstanceObservationDto, { isArray: true })
  @ApiErrors('VALIDATION_FAILED')
  async instances(@Query() query: ObservationQueryDto): Promise<InstanceObservationDto[]> {
    return (await this.monitoring.observation(query.timeWindow, query)).instances;
  }
}

/** A project's own monitoring, with its API key (scope `read`). */
@ApiTags('monitoring')
@Authenticated({ scopes: ['read'] })
@Enveloped()
@Controller('monitoring')
export class ProjectMonitoringController {
  constructor(private readonly monitoring: MonitoringService) {}

  /** The project's instance counts now and its figures over the last 10 minutes. */
  @Get('overview')
  @ApiEnvelope(MonitoringOverviewDto)
  @ApiErrors('VALIDATION_FAILED')
  overview(@CurrentProject() project: ProjectPrincipal): Promise<MonitoringOverviewDto> {
    return this.monitoring.overview(project.projectId);
  }

  /** The project's instances with live state. */
  @Get('instances')
  @ApiEnvelope(InstanceMonitoringDto, { isArray: true })
  @ApiErrors('VALIDATION_FAILED')
  instances(
    @CurrentProject() project: ProjectPrincipal,
    @Query() query: ProjectInstancesQueryDto,
  ): Promise<InstanceMonitoringDto[]> {
    return this.monitoring.instances({ ...query, projectId: project.projectId });
  }

  /** The project's time series (optionally one instance of it). */
  @Get('timeseries')
  @ApiEnvelope(TimeSeriesDto)
  @ApiErrors('VALIDATION_FAILED')
  timeseries(
    @CurrentProject() project: ProjectPrincipal,
    @Query() query: ProjectTimeSeriesQueryDto,
  ): Promise<TimeSeriesDto> {
    return this.monitoring.timeseries(query.timeRange, {
      projectId: project.projectId,
      instanceId: query.instanceId,
    });
  }
}

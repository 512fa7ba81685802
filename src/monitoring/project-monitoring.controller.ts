import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentProject } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import type { ProjectPrincipal } from '../tenancy/principal';
import {
  InstanceMonitoringDto,
  MonitoringOverviewDto,
  ProjectInstancesQueryDto,
  ProjectOverviewQueryDto,
  ProjectTimeSeriesQueryDto,
  TimeSeriesDto,
} from './dto/monitoring.dto';
import { MonitoringService } from './monitoring.service';

/** A project's own monitoring, with its API key (scope `read`). */
@ApiTags('monitoring')
@Authenticated({ scopes: ['read'] })
@Enveloped()
@Controller('monitoring')
export class ProjectMonitoringController {
  constructor(private readonly monitoring: MonitoringService) {}

  /** The project's instance counts now and its figures over `timeWindow` (default 10m). */
  @Get('overview')
  @ApiEnvelope(MonitoringOverviewDto)
  @ApiErrors('VALIDATION_FAILED')
  overview(
    @CurrentProject() project: ProjectPrincipal,
    @Query() query: ProjectOverviewQueryDto,
  ): Promise<MonitoringOverviewDto> {
    return this.monitoring.overview(project.projectId, query.timeWindow);
  }

  /** The project's instances with live state and their figures over `timeWindow` (default 10m). */
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

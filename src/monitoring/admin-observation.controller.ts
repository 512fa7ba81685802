import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import { InstanceObservationDto, ObservationOverviewDto, ObservationQueryDto } from './dto/monitoring.dto';
import { MonitoringService } from './monitoring.service';

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

import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentProject } from '../auth/auth.decorators';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import { IdParam } from '../common/id.param';
import type { ProjectPrincipal } from '../tenancy/principal';
import { InstanceHealthDto } from './dto/instance-health.dto';
import { InstanceHealthService } from './instance-health.service';

/** An instance's health for its project: breaker, window, quotas, leases. */
@ApiTags('instances')
@Enveloped()
@Controller('instances')
export class InstanceHealthController {
  constructor(private readonly health: InstanceHealthService) {}

  /** Breaker state and reason, window statistics, next probe time, quotas and open leases, now. */
  @Authenticated({ scopes: ['read'] })
  @Get(':id/health')
  @ApiEnvelope(InstanceHealthDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  instanceHealth(@CurrentProject() project: ProjectPrincipal, @IdParam() id: string): InstanceHealthDto {
    return this.health.health(this.health.instance(id, project.projectId), project.settings);
  }
}

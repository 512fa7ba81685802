import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, asAdmin } from '../auth/auth.decorators';
import { operatorActor } from '../circuit-breaker/breaker-transition';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Enveloped } from '../common/envelope.interceptor';
import { IdParam } from '../common/id.param';
import type { Principal } from '../tenancy/principal';
import { ProjectsService } from '../tenancy/projects.service';
import { CircuitCommandDto, InstanceHealthDto } from './dto/instance-health.dto';
import { InstanceHealthService } from './instance-health.service';

/** Operators' circuit control for any instance (admin JWT). */
@ApiTags('admin: instances')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/instances')
export class AdminCircuitController {
  constructor(
    private readonly health: InstanceHealthService,
    private readonly projects: ProjectsService,
  ) {}

  /**
   * Overrides the instance's breaker: FORCED_OPEN keeps it out of selection, DISABLED keeps it in
   * (it never trips, metrics still record), AUTO hands it back to a fresh CLOSED breaker. Logged
   * in breaker-events with the admin user as its actor (`admin:<username>`). Returns the instance's
   * health afterwards.
   */
  @Post(':id/circuit')
  @HttpCode(200)
  @ApiEnvelope(InstanceHealthDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  async setCircuit(
    @IdParam() id: string,
    @Body() body: CircuitCommandDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<InstanceHealthDto> {
    const record = this.health.instance(id);
    this.health.setCircuit(record, body.state, operatorActor(asAdmin(principal)));
    const project = await this.projects.get(record.projectId);
    return this.health.health(record, project.settings);
  }

  /** The instance's health as its project sees it. */
  @Get(':id/health')
  @ApiEnvelope(InstanceHealthDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  async instanceHealth(@IdParam() id: string): Promise<InstanceHealthDto> {
    const record = this.health.instance(id);
    const project = await this.projects.get(record.projectId);
    return this.health.health(record, project.settings);
  }
}

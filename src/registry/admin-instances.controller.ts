import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiParam, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import { IdParam } from '../common/id.param';
import { validationError } from '../common/validation';
import { ProjectsService } from '../tenancy/projects.service';
import { ApiTypeParam } from './api-type.param';
import {
  AdminCreateInstanceDto,
  AdminInstancePageDto,
  AdminInstanceQueryDto,
  InstanceWithProjectPageDto,
} from './dto/admin-instance.dto';
import {
  InstanceDto,
  RegisteredInstanceDto,
  UpdateInstanceDto,
  toInstanceDto,
  toRegisteredInstanceDto,
} from './dto/instance.dto';
import {
  API_TYPES,
  INSTANCE_STATUSES,
  type ApiType,
  type InstanceRecord,
  type InstanceStatus,
} from './instance-record';
import { InstanceQueriesService } from './instance-queries.service';
import { InstancesService } from './instances.service';

/** The reference's instance queries across projects, plus writes for any project (admin JWT). */
@ApiTags('admin: instances')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/instances')
export class AdminInstancesController {
  constructor(
    private readonly instances: InstancesService,
    private readonly queries: InstanceQueriesService,
    private readonly projects: ProjectsService,
  ) {}

  /** Instances across projects, filtered by project, status, type, identifier, business id or user. */
  @Get()
  @ApiEnvelope(AdminInstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@Query() query: AdminInstanceQueryDto): Promise<AdminInstancePageDto> {
    const page = await this.queries.acrossProjects(query);
    return { ...page, items: page.items.map(toInstanceDto) };
  }

  /** Like the list, each instance with its project's name. */
  @Get('with-projects')
  @ApiEnvelope(InstanceWithProjectPageDto)
  @ApiErrors('VALIDATION_FAILED')
  async withProjects(@Query() query: AdminInstanceQueryDto): Promise<InstanceWithProjectPageDto> {
    const page = await this.queries.acrossProjects(query);
    const names = await this.projects.namesOf([...new Set(page.items.map((item) => item.projectId))]);
    return {
      ...page,
      items: page.items.map((item) => ({ ...toInstanceDto(item), projectName: names.get(item.projectId) ?? '' })),
    };
  }

  @Get('project/:projectId')
  @ApiEnvelope(AdminInstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  byProject(
    @IdParam('projectId') projectId: string,
    @Query() query: AdminInstanceQueryDto,
  ): Promise<AdminInstancePageDto> {
    return this.list(Object.assign(query, { projectId }));
  }

  @Get('status/:status')
  @ApiParam({ name: 'status', enum: INSTANCE_STATUSES })
  @ApiEnvelope(AdminInstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  byStatus(@Param('status') status: string, @Query() query: AdminInstanceQueryDto): Promise<AdminInstancePageDto> {
    if (!(INSTANCE_STATUSES as readonly string[]).includes(status)) {
      throw validationError([{ field: 'status', message: `status must be one of ${INSTANCE_STATUSES.join(', ')}` }]);
    }
    return this.list(Object.assign(query, { status: status as InstanceStatus }));
  }

  @Get('type/:apiType')
  @ApiParam({ name: 'apiType', enum: API_TYPES })
  @ApiEnvelope(AdminInstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  byType(@ApiTypeParam() apiType: ApiType, @Query() query: AdminInstanceQueryDto): Promise<AdminInstancePageDto> {
    return this.list(Object.assign(query, { apiType }));
  }

  @Get('business/:businessId')
  @ApiEnvelope(AdminInstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  byBusinessId(
    @Param('businessId') businessId: string,
    @Query() query: AdminInstanceQueryDto,
  ): Promise<AdminInstancePageDto> {
    return this.list(Object.assign(query, { businessId }));
  }

  @Get(':id')
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  async get(@IdParam() id: string): Promise<InstanceDto> {
    return toInstanceDto(await this.find(id));
  }

  /** Registers an instance for any project: creates it or updates it, as the project route does. */
  @Post()
  @HttpCode(200)
  @ApiEnvelope(RegisteredInstanceDto)
  @ApiErrors(
    'VALIDATION_FAILED',
    'PROJECT_NOT_FOUND',
    'INSTANCE_LIMIT_REACHED',
    'INSTANCE_CONFLICT',
    'REGISTRATION_BUSY',
    'REGISTRY_BUDGET_EXHAUSTED',
  )
  async create(@Body() body: AdminCreateInstanceDto): Promise<RegisteredInstanceDto> {
    const { projectId, ...instance } = body;
    await this.projects.get(projectId);
    const { record, registration } = await this.instances.create(projectId, instance);
    return toRegisteredInstanceDto(record, registration);
  }

  @Put(':id')
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND', 'REGISTRY_BUDGET_EXHAUSTED')
  async update(@IdParam() id: string, @Body() body: UpdateInstanceDto): Promise<InstanceDto> {
    const record = await this.find(id);
    return toInstanceDto(await this.instances.update(record.projectId, record.apiType, record.businessId, body));
  }

  /** Puts the instance back into selection (registry status ACTIVE), as the project route does. */
  @Post(':id/activate')
  @HttpCode(200)
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  activate(@IdParam() id: string): Promise<InstanceDto> {
    return this.setStatus(id, 'ACTIVE');
  }

  /** Takes the instance out of selection (registry status INACTIVE) until it is activated again. */
  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  deactivate(@IdParam() id: string): Promise<InstanceDto> {
    return this.setStatus(id, 'INACTIVE');
  }

  /** Marks the instance DEPRECATED (out of selection, kept for its history). */
  @Post(':id/deprecate')
  @HttpCode(200)
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  deprecate(@IdParam() id: string): Promise<InstanceDto> {
    return this.setStatus(id, 'DEPRECATED');
  }

  @Delete(':id')
  @ApiEnvelope(Number)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND', 'REGISTRY_BUDGET_EXHAUSTED')
  async delete(@IdParam() id: string): Promise<number> {
    const record = await this.find(id);
    return this.instances.delete(record.projectId, record);
  }

  private async setStatus(id: string, status: InstanceStatus): Promise<InstanceDto> {
    const record = await this.find(id);
    return toInstanceDto(await this.instances.setStatus(record.projectId, record.apiType, record.businessId, status));
  }

  private async find(id: string): Promise<InstanceRecord> {
    const record = await this.queries.byId(id);
    if (!record) throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${id} not found`);
    return record;
  }
}

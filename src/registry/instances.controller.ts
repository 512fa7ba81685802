import { Body, Controller, Delete, Get, HttpCode, type OnModuleInit, Param, Post, Put, Query } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { usableApiKey } from '../auth/api-key-extraction';
import { EarlyRefusals } from '../common/early-refusals';
import type { GatewayError } from '../common/gateway-error';
import { ApiKeyAuthenticator } from '../tenancy/api-key-authenticator';
import { ApiBody, ApiParam, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentProject } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { IdParam } from '../common/id.param';
import type { ProjectPrincipal } from '../tenancy/principal';
import { ApiTypeParam } from './api-type.param';
import { BatchBodies } from './batch-bodies';
import {
  BatchCreateInstancesDto,
  BatchDeleteInstancesDto,
  CreateInstanceDto,
  InstanceDto,
  InstancePageDto,
  InstanceQueryDto,
  UpdateInstanceDto,
  toInstanceDto,
  RegisteredInstanceDto,
  toRegisteredInstanceDto,
} from './dto/instance.dto';
import { API_TYPES, type ApiType, type InstanceStatus } from './instance-record';
import { InstanceQueriesService } from './instance-queries.service';
import { InstancesService } from './instances.service';

const WRITE = { scopes: ['registry:write'] } as const;
const READ = { scopes: ['read'] } as const;
const apiTypeParam = ApiParam({ name: 'apiType', enum: API_TYPES });

/** The registry writes of this controller, as Fastify names them: each costs the write budget. */
const REGISTRY_WRITES = [
  ['POST', '/api/instances'],
  ['POST', '/api/instances/batch'],
  ['DELETE', '/api/instances/batch'],
  ['PUT', '/api/instances/:apiType/:businessId'],
  ['DELETE', '/api/instances/:apiType/:businessId'],
] as const;

/** [compat] The registry as AgentX uses it. Every success is HTTP 200. */
@ApiTags('instances')
@Enveloped()
@Controller('instances')
export class InstancesController implements OnModuleInit {
  constructor(
    private readonly instances: InstancesService,
    private readonly queries: InstanceQueriesService,
    private readonly batches: BatchBodies,
    private readonly refusals: EarlyRefusals,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  /**
   * A project over its registry write budget is refused before a write's body is read, when its
   * key is cached on this node (a flood of 4 MiB batches then costs a lookup each, not a parse).
   */
  onModuleInit(): void {
    const check = (request: FastifyRequest): GatewayError | undefined => {
      const key = usableApiKey(request);
      const projectId = key === undefined ? undefined : this.authenticator.cachedProjectOf(key);
      return projectId === undefined ? undefined : this.instances.writeRefusal(projectId);
    };
    for (const [method, url] of REGISTRY_WRITES) this.refusals.add(method, url, check);
  }

  /**
   * Registers an instance. An existing one (same apiType and businessId) is updated with what was
   * sent — `apiIdentifier`, and `userId`, `routingParams`, `metadata` and `endpoint` when given a
   * value (null keeps the stored one); never its status — and `registration` says `created`,
   * `updated` or `unchanged`. A project at `GATEWAY_MAX_INSTANCES_PER_PROJECT`: 409 INSTANCE_LIMIT_REACHED. 32 registrations
   * of the project already waiting on this node: 429 REGISTRATION_BUSY with `Retry-After`.
   */
  @Authenticated(WRITE)
  @Post()
  @HttpCode(200)
  @ApiEnvelope(RegisteredInstanceDto)
  @ApiErrors(
    'VALIDATION_FAILED',
    'INSTANCE_LIMIT_REACHED',
    'INSTANCE_CONFLICT',
    'REGISTRATION_BUSY',
    'REGISTRY_BUDGET_EXHAUSTED',
  )
  async create(
    @CurrentProject() project: ProjectPrincipal,
    @Body() body: CreateInstanceDto,
  ): Promise<RegisteredInstanceDto> {
    const { record, registration } = await this.instances.create(project.projectId, body);
    return toRegisteredInstanceDto(record, registration);
  }

  /**
   * Registers 1 to `GATEWAY_MAX_INSTANCES_PER_PROJECT` instances (default 5000) in one
   * transaction, each as `POST /api/instances` would; `data` answers every distinct instance of the
   * request, in order (a repeated apiType + businessId collapses into its first), with its `id`
   * and `registration`: `created`, `updated` or `unchanged`. More new instances than the project has
   * room for: 409 INSTANCE_LIMIT_REACHED, nothing written. 4 batches of the project already
   * waiting on this node: 429 REGISTRATION_BUSY with `Retry-After`, before the body is validated.
   */
  @Authenticated(WRITE)
  @Post('batch')
  @HttpCode(200)
  @ApiBody({ type: BatchCreateInstancesDto })
  @ApiEnvelope(RegisteredInstanceDto, { isArray: true })
  @ApiErrors(
    'VALIDATION_FAILED',
    'INSTANCE_LIMIT_REACHED',
    'INSTANCE_CONFLICT',
    'REGISTRATION_BUSY',
    'REGISTRY_BUDGET_EXHAUSTED',
  )
  async createBatch(
    @CurrentProject() project: ProjectPrincipal,
    @Body() body: unknown,
  ): Promise<RegisteredInstanceDto[]> {
    this.instances.assertWriteBudget(project.projectId);
    this.instances.assertBatchRoom(project.projectId);
    const items = await this.batches.creations(body);
    const registered = await this.instances.createBatch(project.projectId, items);
    return registered.map(({ record, registration }) => toRegisteredInstanceDto(record, registration));
  }

  /** Deletes the listed instances (JSON body, up to `GATEWAY_MAX_INSTANCES_PER_PROJECT`); `data` is how many existed. */
  @Authenticated(WRITE)
  @Delete('batch')
  @ApiBody({ type: BatchDeleteInstancesDto })
  @ApiEnvelope(Number)
  @ApiErrors('VALIDATION_FAILED', 'REGISTRY_BUDGET_EXHAUSTED')
  async deleteBatch(@CurrentProject() project: ProjectPrincipal, @Body() body: unknown): Promise<number> {
    this.instances.assertWriteBudget(project.projectId);
    return this.instances.deleteBatch(project.projectId, await this.batches.keys(body));
  }

  /** The project's instances, with filters and paging. */
  @Authenticated(READ)
  @Get()
  @ApiEnvelope(InstancePageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@CurrentProject() project: ProjectPrincipal, @Query() query: InstanceQueryDto): Promise<InstancePageDto> {
    const page = await this.queries.forProject(project.projectId, query);
    return { ...page, items: page.items.map(toInstanceDto) };
  }

  @Authenticated(READ)
  @Get(':id')
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  get(@CurrentProject() project: ProjectPrincipal, @IdParam() id: string): InstanceDto {
    return toInstanceDto(this.instances.get(project.projectId, id));
  }

  /** Updates identifier, user, routing parameters and metadata; never the status. */
  @Authenticated(WRITE)
  @Put(':apiType/:businessId')
  @apiTypeParam
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND', 'REGISTRY_BUDGET_EXHAUSTED')
  async update(
    @CurrentProject() project: ProjectPrincipal,
    @ApiTypeParam() apiType: ApiType,
    @Param('businessId') businessId: string,
    @Body() body: UpdateInstanceDto,
  ): Promise<InstanceDto> {
    return toInstanceDto(await this.instances.update(project.projectId, apiType, businessId, body));
  }

  /** Idempotent: `data` is 1 when it existed, 0 otherwise. */
  @Authenticated(WRITE)
  @Delete(':apiType/:businessId')
  @apiTypeParam
  @ApiEnvelope(Number)
  @ApiErrors('VALIDATION_FAILED', 'REGISTRY_BUDGET_EXHAUSTED')
  delete(
    @CurrentProject() project: ProjectPrincipal,
    @ApiTypeParam() apiType: ApiType,
    @Param('businessId') businessId: string,
  ): Promise<number> {
    return this.instances.delete(project.projectId, { apiType, businessId });
  }

  @Authenticated(WRITE)
  @Post(':apiType/:businessId/activate')
  @HttpCode(200)
  @apiTypeParam
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  activate(
    @CurrentProject() p: ProjectPrincipal,
    @ApiTypeParam() t: ApiType,
    @Param('businessId') b: string,
  ): Promise<InstanceDto> {
    return this.transition(p, t, b, 'ACTIVE');
  }

  @Authenticated(WRITE)
  @Post(':apiType/:businessId/deactivate')
  @HttpCode(200)
  @apiTypeParam
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  deactivate(
    @CurrentProject() p: ProjectPrincipal,
    @ApiTypeParam() t: ApiType,
    @Param('businessId') b: string,
  ): Promise<InstanceDto> {
    return this.transition(p, t, b, 'INACTIVE');
  }

  @Authenticated(WRITE)
  @Post(':apiType/:businessId/deprecate')
  @HttpCode(200)
  @apiTypeParam
  @ApiEnvelope(InstanceDto)
  @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
  deprecate(
    @CurrentProject() p: ProjectPrincipal,
    @ApiTypeParam() t: ApiType,
    @Param('businessId') b: string,
  ): Promise<InstanceDto> {
    return this.transition(p, t, b, 'DEPRECATED');
  }

  private async transition(
    project: ProjectPrincipal,
    apiType: ApiType,
    businessId: string,
    status: InstanceStatus,
  ): Promise<InstanceDto> {
    return toInstanceDto(await this.instances.setStatus(project.projectId, apiType, businessId, status));
  }
}

import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { IdParam } from '../common/id.param';
import { ApiKeysService } from '../tenancy/api-keys.service';
import { CreatedApiKeyDto, IssueApiKeyDto, toApiKeyDto } from '../tenancy/dto/api-key.dto';
import {
  CreateProjectDto,
  ProjectDto,
  ProjectPageDto,
  ProjectQueryDto,
  ProjectStatusDto,
  UpdateProjectDto,
  toProjectDto,
} from '../tenancy/dto/project.dto';
import { ProjectsService } from '../tenancy/projects.service';

@ApiTags('admin: projects')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/projects')
export class AdminProjectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly keys: ApiKeysService,
  ) {}

  /** Projects, newest first; `search` matches name or description. */
  @Get()
  @ApiEnvelope(ProjectPageDto)
  @ApiErrors('VALIDATION_FAILED')
  async list(@Query() query: ProjectQueryDto): Promise<ProjectPageDto> {
    const page = await this.projects.list(query);
    return { ...page, items: page.items.map(toProjectDto) };
  }

  @Get(':id')
  @ApiEnvelope(ProjectDto)
  @ApiErrors('PROJECT_NOT_FOUND')
  async get(@IdParam() id: string): Promise<ProjectDto> {
    return toProjectDto(await this.projects.get(id));
  }

  @Post()
  @HttpCode(200)
  @ApiEnvelope(ProjectDto)
  @ApiErrors('VALIDATION_FAILED')
  async create(@Body() body: CreateProjectDto): Promise<ProjectDto> {
    return toProjectDto(await this.projects.create(body));
  }

  @Put(':id')
  @ApiEnvelope(ProjectDto)
  @ApiErrors('VALIDATION_FAILED', 'PROJECT_NOT_FOUND', 'REGISTRATION_BUSY')
  async update(@IdParam() id: string, @Body() body: UpdateProjectDto): Promise<ProjectDto> {
    return toProjectDto(await this.projects.update(id, body));
  }

  /** INACTIVE refuses every key of the project on its next request. */
  @Put(':id/status')
  @ApiEnvelope(ProjectDto)
  @ApiErrors('VALIDATION_FAILED', 'PROJECT_NOT_FOUND', 'REGISTRATION_BUSY')
  async setStatus(@IdParam() id: string, @Body() body: ProjectStatusDto): Promise<ProjectDto> {
    return toProjectDto(await this.projects.setStatus(id, body.status));
  }

  /** Deletes the project with its keys, instances and metrics, in one transaction. */
  @Delete(':id')
  @ApiEnvelope()
  @ApiErrors('PROJECT_NOT_FOUND')
  async delete(@IdParam() id: string): Promise<void> {
    await this.projects.delete(id);
  }

  /** Issues a key bound to this project (ACTIVE at once); `apiKeyValue` is shown this once. */
  @Post(':id/apikeys')
  @HttpCode(200)
  @ApiEnvelope(CreatedApiKeyDto)
  @ApiErrors('VALIDATION_FAILED', 'PROJECT_NOT_FOUND')
  async issueKey(@IdParam() id: string, @Body() body: IssueApiKeyDto): Promise<CreatedApiKeyDto> {
    const issued = await this.keys.issue(body, id);
    return { ...toApiKeyDto(issued.entity), apiKeyValue: issued.secret };
  }
}

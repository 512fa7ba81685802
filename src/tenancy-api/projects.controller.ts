import { Body, Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentProject, Public } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import type { ProjectPrincipal } from '../tenancy/principal';
import { CreateProjectWithKeyDto, ProjectDto, toProjectDto } from '../tenancy/dto/project.dto';
import { ProjectSettings } from '../tenancy/project-settings';
import { ProjectsService } from '../tenancy/projects.service';

@ApiTags('projects')
@Enveloped()
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  /**
   * [compat] Creates the project of an issued key and binds the key, or returns the key's project
   * when it is already bound (idempotent). The key in the body is the credential.
   */
  @Public()
  @Post()
  @HttpCode(200)
  @ApiEnvelope(ProjectDto)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_API_KEY', 'API_KEY_REVOKED', 'API_KEY_EXPIRED', 'CONFLICT')
  async create(@Body() body: CreateProjectWithKeyDto): Promise<ProjectDto> {
    return toProjectDto(await this.projects.createForKey(body));
  }

  /** The caller's project, with its settings. */
  @Authenticated({ scopes: ['read'] })
  @Get('current')
  @ApiEnvelope(ProjectDto)
  async current(@CurrentProject() project: ProjectPrincipal): Promise<ProjectDto> {
    return toProjectDto(await this.projects.get(project.projectId));
  }

  /** Changes the caller's project settings; nested groups (`breaker`, `quotas`) merge field by field. */
  @Authenticated({ scopes: ['registry:write'] })
  @Patch('current/settings')
  @ApiEnvelope(ProjectDto)
  @ApiErrors('VALIDATION_FAILED', 'REGISTRATION_BUSY')
  async updateSettings(
    @CurrentProject() project: ProjectPrincipal,
    @Body() body: ProjectSettings,
  ): Promise<ProjectDto> {
    return toProjectDto(await this.projects.updateSettings(project.projectId, body));
  }
}

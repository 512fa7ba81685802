import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Like, Repository } from 'typeorm';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { type Page, skipOf } from '../common/pagination';
import { validationError } from '../common/validation';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { PROJECT_LOCK_TIMEOUT_SECONDS, inProjectLock } from '../database/project-lock';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { hashApiKey } from './api-key-secrets';
import type { CreateProjectDto, CreateProjectWithKeyDto, ProjectQueryDto, UpdateProjectDto } from './dto/project.dto';
import { ApiKeyEntity } from './entities/api-key.entity';
import { ProjectEntity, type ProjectStatus } from './entities/project.entity';
import { checkSettingsLimits, mergeSettings, type ProjectSettings } from './project-settings';

@Injectable()
export class ProjectsService {
  constructor(
    @InjectRepository(ProjectEntity) private readonly projects: Repository<ProjectEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectEventBus() private readonly events: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async get(id: string): Promise<ProjectEntity> {
    const project = await this.projects.findOne({ where: { id } });
    if (!project) throw new GatewayError('PROJECT_NOT_FOUND', `Project ${id} not found`);
    return project;
  }

  /** Names of the given projects, for listings that show them. */
  async namesOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.projects.find({ where: { id: In([...ids]) }, select: { id: true, name: true } });
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  /** Name and settings of each existing project among `ids` (monitoring reads; one query). */
  async summariesOf(ids: readonly string[]): Promise<Map<string, { name: string; settings: ProjectSettings }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.projects.find({
      where: { id: In([...ids]) },
      select: { id: true, name: true, settings: true },
    });
    return new Map(rows.map((row) => [row.id, { name: row.name, settings: row.settings }]));
  }

  async list(query: ProjectQueryDto): Promise<Page<ProjectEntity>> {
    const search = query.search ? `%${query.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%` : undefined;
    const base = query.status ? { status: query.status } : {};
    const where = search
      ? [
          { ...base, name: Like(search) },
          { ...base, description: Like(search) },
        ]
      : base;
    const [items, total] = await this.projects.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items, total, page: query.page, size: query.size };
  }

  create(dto: CreateProjectDto): Promise<ProjectEntity> {
    this.assertWithinLimits(dto.settings, 'settings');
    return this.projects.save(
      this.projects.create({
        id: newId(),
        name: dto.name,
        description: dto.description ?? null,
        status: 'ACTIVE',
        settings: dto.settings ? mergeSettings({}, dto.settings) : {},
      }),
    );
  }

  /**
   * The reference's `POST /api/projects` [compat]: the key in the body is the credential. An
   * `UNUSED` key gets a new project and becomes `ACTIVE`; a key already bound returns its
   * project unchanged (AgentX calls this at every start-up).
   */
  async createForKey(dto: CreateProjectWithKeyDto): Promise<ProjectEntity> {
    const keyHash = hashApiKey(dto.apiKey);
    const project = await this.dataSource.transaction(async (manager) => {
      const key = await manager.findOne(ApiKeyEntity, { where: { keyHash } });
      if (!key) throw new GatewayError('INVALID_API_KEY', 'Invalid API key');
      if (key.status === 'REVOKED') throw new GatewayError('API_KEY_REVOKED', 'This API key has been revoked');
      if (key.status === 'EXPIRED') throw new GatewayError('API_KEY_EXPIRED', 'This API key has expired');
      if (key.projectId) return manager.findOneOrFail(ProjectEntity, { where: { id: key.projectId } });
      const created = await manager.save(
        manager.create(ProjectEntity, {
          id: newId(),
          name: dto.name,
          description: dto.description ?? null,
          status: 'ACTIVE',
          settings: {},
        }),
      );
      // Guarded update: of two concurrent first calls with one key, only one binds it.
      const bound = await manager.update(
        ApiKeyEntity,
        { id: key.id, status: 'UNUSED' },
        { projectId: created.id, status: 'ACTIVE' },
      );
      if (bound.affected !== 1) throw new GatewayError('CONFLICT', 'This API key was bound concurrently; retry');
      return created;
    });
    this.events.publish({ type: 'apikey.changed', keyHash });
    return project;
  }

  async update(id: string, dto: UpdateProjectDto): Promise<ProjectEntity> {
    const project = await this.get(id);
    if (dto.name !== undefined) project.name = dto.name;
    if (dto.description !== undefined) project.description = dto.description;
    return this.saveProject(project);
  }

  async setStatus(id: string, status: ProjectStatus): Promise<ProjectEntity> {
    const project = await this.get(id);
    project.status = status;
    const saved = await this.saveProject(project);
    this.events.publish({ type: 'project.changed', projectId: id });
    return saved;
  }

  async updateSettings(id: string, patch: ProjectSettings): Promise<ProjectEntity> {
    this.assertWithinLimits(patch, '');
    const project = await this.get(id);
    project.settings = mergeSettings(project.settings, patch);
    const saved = await this.saveProject(project);
    this.events.publish({ type: 'project.changed', projectId: id });
    return saved;
  }

  /**
   * Saves a changed project. On MySQL under the project's write lock: a registration's foreign-key
   * checks hold a shared lock on the project row until it commits, and an UPDATE waiting for them
   * would make every later insert referencing the row — the minute-metrics flush, which holds every
   * tenant's rows — queue behind it. Waiting for the named lock holds nothing.
   */
  private saveProject(project: ProjectEntity): Promise<ProjectEntity> {
    if (this.dataSource.options.type !== 'mysql') return this.projects.save(project);
    return inProjectLock(
      this.dataSource,
      project.id,
      (manager) => manager.save(ProjectEntity, project),
      PROJECT_LOCK_TIMEOUT_SECONDS,
      () =>
        new GatewayError(
          'REGISTRATION_BUSY',
          `Registrations of this project kept it busy for ${PROJECT_LOCK_TIMEOUT_SECONDS} s; retry`,
          {
            details: { retryAfterMs: 1000 },
            headers: { 'Retry-After': '1' },
          },
        ),
    );
  }

  /** Settings beyond the configured limits (e.g. `GATEWAY_MAX_LEASE_TTL_MS`): 400 naming the field. */
  private assertWithinLimits(settings: ProjectSettings | undefined, path: string): void {
    const errors = checkSettingsLimits(settings, this.config.limits, path);
    if (errors.length > 0) throw validationError(errors);
  }

  /** Deletes the project and, through foreign keys in the same statement, everything it owns. */
  async delete(id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const result = await manager.delete(ProjectEntity, { id });
      if (result.affected === 0) throw new GatewayError('PROJECT_NOT_FOUND', `Project ${id} not found`);
    });
    this.events.publish({ type: 'project.deleted', projectId: id });
  }
}

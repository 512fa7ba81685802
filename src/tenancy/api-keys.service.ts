import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { type Page, skipOf } from '../common/pagination';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key-secrets';
import type { ApiKeyQueryDto, IssueApiKeyDto, UpdateApiKeyDto } from './dto/api-key.dto';
import { ApiKeyEntity, type ApiKeyStatus } from './entities/api-key.entity';
import { ProjectsService } from './projects.service';

export interface IssuedKey {
  readonly entity: ApiKeyEntity;
  /** The secret, to be shown once. */
  readonly secret: string;
}

@Injectable()
export class ApiKeysService {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly projects: ProjectsService,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  /** Issues a new random key: bound and ACTIVE when a project is given, else UNUSED. */
  async issue(dto: IssueApiKeyDto, projectId?: string): Promise<IssuedKey> {
    if (projectId) await this.projects.get(projectId);
    const secret = generateApiKey();
    const entity = await this.insert(secret, { ...dto, projectId });
    return { entity, secret };
  }

  /** Seeds a key with a known value (bootstrap), UNUSED, if it does not exist yet. */
  async seed(secret: string, description: string): Promise<boolean> {
    if (await this.findBySecret(secret)) return false;
    try {
      await this.insert(secret, { description });
    } catch (error) {
      // Another node seeded it at the same moment.
      if (await this.findBySecret(secret)) return false;
      throw error;
    }
    return true;
  }

  /** The stored key with this secret, or null. */
  findBySecret(secret: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOne({ where: { keyHash: hashApiKey(secret) } });
  }

  async get(id: string): Promise<ApiKeyEntity> {
    const key = await this.keys.findOne({ where: { id } });
    if (!key) throw new GatewayError('API_KEY_NOT_FOUND', `API key ${id} not found`);
    return key;
  }

  async list(query: ApiKeyQueryDto): Promise<Page<ApiKeyEntity>> {
    const where = {
      ...(query.projectId ? { projectId: query.projectId } : {}),
      ...(query.status ? { status: query.status } : {}),
    };
    const [items, total] = await this.keys.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items, total, page: query.page, size: query.size };
  }

  async update(id: string, dto: UpdateApiKeyDto): Promise<ApiKeyEntity> {
    const key = await this.get(id);
    if (dto.description !== undefined) key.description = dto.description;
    if (dto.expiresAt !== undefined) key.expiresAt = dto.expiresAt;
    if (dto.scopes !== undefined) key.scopes = dto.scopes;
    return this.saveAndInvalidate(key);
  }

  async setStatus(id: string, status: Exclude<ApiKeyStatus, 'UNUSED'>): Promise<ApiKeyEntity> {
    const key = await this.get(id);
    if (status === 'ACTIVE' && !key.projectId) {
      throw new GatewayError(
        'API_KEY_NOT_BOUND',
        'An unbound key cannot be activated; bind it with POST /api/projects',
      );
    }
    key.status = status;
    return this.saveAndInvalidate(key);
  }

  /** Replaces the secret: the old one stops working on the very next request. */
  async rotate(id: string): Promise<IssuedKey> {
    const key = await this.get(id);
    const oldHash = key.keyHash;
    const secret = generateApiKey();
    key.keyHash = hashApiKey(secret);
    key.prefix = displayPrefix(secret);
    const entity = await this.keys.save(key);
    this.events.publish({ type: 'apikey.changed', keyHash: oldHash });
    return { entity, secret };
  }

  async delete(id: string): Promise<void> {
    const key = await this.get(id);
    await this.keys.delete({ id });
    this.events.publish({ type: 'apikey.changed', keyHash: key.keyHash });
  }

  private async insert(
    secret: string,
    fields: { description?: string; expiresAt?: Date; scopes?: ApiKeyEntity['scopes']; projectId?: string },
  ): Promise<ApiKeyEntity> {
    const keyHash = hashApiKey(secret);
    const entity = await this.keys.save(
      this.keys.create({
        id: newId(),
        keyHash,
        prefix: displayPrefix(secret),
        description: fields.description ?? null,
        status: fields.projectId ? 'ACTIVE' : 'UNUSED',
        scopes: fields.scopes ?? null,
        projectId: fields.projectId ?? null,
        expiresAt: fields.expiresAt ?? null,
        lastUsedAt: null,
      }),
    );
    // A key that was tried before it existed may sit in the negative cache.
    this.events.publish({ type: 'apikey.changed', keyHash });
    return entity;
  }

  private async saveAndInvalidate(key: ApiKeyEntity): Promise<ApiKeyEntity> {
    const saved = await this.keys.save(key);
    this.events.publish({ type: 'apikey.changed', keyHash: key.keyHash });
    return saved;
  }
}

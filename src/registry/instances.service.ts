import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { validationError } from '../common/validation';
import { EventBus, InjectEventBus } from '../state/event-bus';
import type { CreateInstanceDto, InstanceKeyDto, UpdateInstanceDto } from './dto/instance.dto';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import type { ApiType, InstanceRecord, InstanceStatus } from './instance-record';
import { toRecord } from './instance-mapping';
import { RegistryIndex } from './registry-index';
import { checkInstanceJson } from './routing-params';

const CHUNK = 200;

/**
 * Writes to the registry: the database first, in a transaction, then — once committed — the
 * in-memory index and an event for the other nodes. Reads by id come from the index.
 */
@Injectable()
export class InstancesService implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    @InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly index: RegistryIndex,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  /**
   * A deleted project's instances were cascaded away by the database: drop its shard from the
   * index and announce the ids, so every per-instance store forgets them.
   */
  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe('project.deleted', (event, origin) => {
      const ids = this.index.listByProject(event.projectId).map((record) => record.id);
      this.index.removeProject(event.projectId);
      // Another node's deletion: that node announces the instances to the cluster itself.
      if (origin.remote) return;
      if (ids.length > 0)
        this.events.publish({ type: 'instances.deleted', projectId: event.projectId, instanceIds: ids });
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Registers an instance; an existing one (same apiType and businessId) is returned unchanged. */
  async create(projectId: string, dto: CreateInstanceDto): Promise<InstanceRecord> {
    const [record] = await this.createMany(projectId, [dto], '');
    return record ?? this.require(projectId, dto.apiType, dto.businessId);
  }

  /**
   * Registers up to 1000 instances in one transaction and returns the newly created ones. Items
   * repeating an apiType + businessId collapse into the first; existing ones are left unchanged.
   * Any invalid item fails the whole batch, and nothing is written.
   */
  async createBatch(projectId: string, items: readonly CreateInstanceDto[]): Promise<InstanceRecord[]> {
    return this.createMany(projectId, items, 'instances');
  }

  async update(
    projectId: string,
    apiType: ApiType,
    businessId: string,
    dto: UpdateInstanceDto,
  ): Promise<InstanceRecord> {
    assertValidJson([dto], '');
    const entity = await this.findEntity(projectId, apiType, businessId);
    entity.apiIdentifier = dto.apiIdentifier;
    if (dto.userId !== undefined) entity.userId = dto.userId;
    if (dto.routingParams !== undefined) entity.routingParams = dto.routingParams;
    if (dto.metadata !== undefined) entity.metadata = dto.metadata;
    return this.committed(projectId, [await this.instances.save(entity)])[0];
  }

  async setStatus(
    projectId: string,
    apiType: ApiType,
    businessId: string,
    status: InstanceStatus,
  ): Promise<InstanceRecord> {
    const entity = await this.findEntity(projectId, apiType, businessId);
    if (entity.status === status) return toRecord(entity);
    entity.status = status;
    return this.committed(projectId, [await this.instances.save(entity)])[0];
  }

  /** Idempotent: deleting an instance that does not exist succeeds and reports 0. */
  async delete(projectId: string, key: InstanceKeyDto): Promise<number> {
    return this.deleteBatch(projectId, [key]);
  }

  async deleteBatch(projectId: string, keys: readonly InstanceKeyDto[]): Promise<number> {
    const ids = await this.dataSource.transaction(async (manager) => {
      const found = await this.findByKeys(manager, projectId, keys);
      for (let i = 0; i < found.length; i += CHUNK) {
        await manager.delete(ApiInstanceEntity, { id: In(found.slice(i, i + CHUNK).map((e) => e.id)) });
      }
      return found.map((entity) => entity.id);
    });
    for (const id of ids) this.index.remove(id);
    if (ids.length > 0) this.events.publish({ type: 'instances.deleted', projectId, instanceIds: ids });
    return ids.length;
  }

  /** An instance of the project, from memory; 404 when it is another project's. */
  get(projectId: string, id: string): InstanceRecord {
    const record = this.index.get(id);
    if (!record || record.projectId !== projectId) {
      throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${id} not found`);
    }
    return record;
  }

  private async createMany(
    projectId: string,
    items: readonly CreateInstanceDto[],
    path: string,
  ): Promise<InstanceRecord[]> {
    assertValidJson(items, path);
    const distinct = dedupeFirst(items);
    try {
      return await this.insertMissing(projectId, distinct);
    } catch (error) {
      // A concurrent request registered some of them first: once more, those now exist.
      if (!isUniqueViolation(error)) throw error;
      return this.insertMissing(projectId, distinct);
    }
  }

  private async insertMissing(projectId: string, distinct: readonly CreateInstanceDto[]): Promise<InstanceRecord[]> {
    const created = await this.dataSource.transaction(async (manager) => {
      const existing = new Set(
        (await this.findByKeys(manager, projectId, distinct)).map((e) => `${e.apiType}\u0000${e.businessId}`),
      );
      const fresh = distinct
        .filter((item) => !existing.has(`${item.apiType}\u0000${item.businessId}`))
        .map((item) => newEntity(projectId, item));
      if (fresh.length === 0) return [];
      // updateEntity(false): TypeORM would otherwise re-select the rows to fill in the database's
      // timestamps and merge them back by position, and on SQLite the rows come back in another
      // order — swapping ids between the objects. Read back explicitly instead.
      for (let i = 0; i < fresh.length; i += CHUNK) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(ApiInstanceEntity)
          .values(fresh.slice(i, i + CHUNK) as QueryDeepPartialEntity<ApiInstanceEntity>[])
          .updateEntity(false)
          .execute();
      }
      const order = new Map(fresh.map((entity, i) => [entity.id, i]));
      const rows = await manager.find(ApiInstanceEntity, { where: { id: In([...order.keys()]) } });
      return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    });
    return this.committed(projectId, created);
  }

  /** Mirrors committed rows into the index and tells the other nodes. */
  private committed(projectId: string, entities: readonly ApiInstanceEntity[]): InstanceRecord[] {
    const records = entities.map(toRecord);
    for (const record of records) this.index.upsert(record);
    if (records.length > 0) {
      this.events.publish({ type: 'instances.changed', projectId, instanceIds: records.map((r) => r.id) });
    }
    return records;
  }

  private async require(projectId: string, apiType: ApiType, businessId: string): Promise<InstanceRecord> {
    return toRecord(await this.findEntity(projectId, apiType, businessId));
  }

  private async findEntity(projectId: string, apiType: ApiType, businessId: string): Promise<ApiInstanceEntity> {
    const entity = await this.instances.findOne({ where: { projectId, apiType, businessId } });
    if (!entity) throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${apiType}/${businessId} not found`);
    return entity;
  }

  private async findByKeys(
    manager: EntityManager,
    projectId: string,
    keys: readonly { apiType: ApiType; businessId: string }[],
  ): Promise<ApiInstanceEntity[]> {
    const found: ApiInstanceEntity[] = [];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const rows = await manager.find(ApiInstanceEntity, {
        where: { projectId, businessId: In([...new Set(chunk.map((k) => k.businessId))]) },
      });
      const wanted = new Set(chunk.map((k) => `${k.apiType}\u0000${k.businessId}`));
      found.push(...rows.filter((row) => wanted.has(`${row.apiType}\u0000${row.businessId}`)));
    }
    return [...new Map(found.map((row) => [row.id, row])).values()];
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code =
    (error as { code?: string; driverError?: { code?: string } }).driverError?.code ??
    (error as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function assertValidJson(items: readonly { routingParams?: unknown; metadata?: unknown }[], path: string): void {
  const errors = items.flatMap((item, i) => checkInstanceJson(item, path ? `${path}.${i}` : ''));
  if (errors.length > 0) throw validationError(errors);
}

/** The first item of each apiType + businessId, in request order. */
function dedupeFirst(items: readonly CreateInstanceDto[]): CreateInstanceDto[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.apiType}\u0000${item.businessId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function newEntity(projectId: string, item: CreateInstanceDto): Partial<ApiInstanceEntity> {
  return {
    id: newId(),
    projectId,
    userId: item.userId ?? null,
    apiIdentifier: item.apiIdentifier,
    apiType: item.apiType,
    businessId: item.businessId,
    routingParams: item.routingParams ?? {},
    metadata: item.metadata ?? null,
    status: 'ACTIVE',
  };
}

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ROWS_PER_STATEMENT, chunksOf, forEachInChunks } from '../common/chunks';
import { Clock, InjectClock } from '../common/clock';
import { CostBudget } from '../common/cost-budget';
import { type FieldError, GatewayError } from '../common/gateway-error';
import { KeyedLanes, type LaneBound, LaneFullError } from '../common/keyed-lanes';
import { validationError } from '../common/validation';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { EventBus, InjectEventBus } from '../state/event-bus';
import type { CreateInstanceDto, InstanceKeyDto, Registration, UpdateInstanceDto } from './dto/instance.dto';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import type { ApiType, InstanceRecord, InstanceStatus } from './instance-record';
import { conflictError, findByKeys, isUniqueViolation, keyOf } from './instance-keys';
import { toRecord } from './instance-mapping';
import { checkJsonShape } from './json-limits';
import { RegistryIndex } from './registry-index';
import { checkInstanceJson } from './routing-params';
import { inRegistrationLock } from './registration-lock';
import {
  REGISTRATION_QUEUE,
  type WrittenItem,
  planRegistration,
  refusal,
  registrationBusy,
  writePlan,
} from './registration';

/** Items whose JSON is checked between two turns of the event loop. */
const CHECKS_PER_TURN = 100;

/**
 * Writes to the registry: the database first, in a transaction, then — once committed — the
 * in-memory index and an event for the other nodes. Reads by id come from the index.
 *
 * Registrations hold a project to `GATEWAY_MAX_INSTANCES_PER_PROJECT` instances, whatever their
 * status, counted in the database inside the write transaction: one at a time per project on this
 * node (a lane, where at most a few may wait: {@link REGISTRATION_QUEUE}), and on MySQL across
 * nodes too (under the project's named registration lock, `registration-lock.ts`).
 */
@Injectable()
export class InstancesService implements OnModuleInit, OnModuleDestroy {
  /** Instances written per project (`GATEWAY_REGISTRY_WRITES_PER_MINUTE`): registry writes cost the event loop. */
  private readonly writes: CostBudget;
  private unsubscribe: (() => void) | undefined;
  private readonly registrations = new KeyedLanes();

  constructor(
    @InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly index: RegistryIndex,
    @InjectEventBus() private readonly events: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectClock() private readonly clock: Clock,
  ) {
    const perMinute = config.limits.registryWritesPerMinute;
    this.writes = new CostBudget(perMinute / 60, perMinute);
  }

  /**
   * A deleted project's instances were cascaded away by the database: drop its shard from the
   * index and announce the ids, so every per-instance store forgets them.
   */
  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe('project.deleted', (event, origin) => {
      this.writes.forget(event.projectId);
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

  /**
   * Registers an instance: creates it, or updates an existing one (same apiType and businessId)
   * with what was sent (`registration.ts`, {@link applied}); says which.
   */
  async create(projectId: string, dto: CreateInstanceDto): Promise<RegisteredRecord> {
    const [registered] = await this.createMany(projectId, [dto], '', REGISTRATION_QUEUE.single);
    return registered;
  }

  /**
   * Registers a batch and answers every distinct instance of it, in request order, with whether it
   * was created, updated or left unchanged. Items repeating an apiType + businessId collapse into
   * the first. Any invalid item, or more new instances than the project has room for, fails the
   * whole batch: nothing is written.
   */
  async createBatch(projectId: string, items: readonly CreateInstanceDto[]): Promise<RegisteredRecord[]> {
    return this.createMany(projectId, items, 'instances', REGISTRATION_QUEUE.batch);
  }

  /**
   * 429 REGISTRY_BUDGET_EXHAUSTED while the project has written more instances than
   * `GATEWAY_REGISTRY_WRITES_PER_MINUTE` allows (a minute's worth at once, refilled per second):
   * checked before a registry write's body is validated, and — for a key already cached — before
   * it is even read (see `EarlyRefusals`). AgentX's start-up sync (~1000 instances) fits ten times.
   */
  writeRefusal(projectId: string): GatewayError | undefined {
    const waitMs = this.writes.waitMs(projectId, this.clock.now());
    return waitMs > 0 ? registryBudgetExhausted(this.config.limits.registryWritesPerMinute, waitMs) : undefined;
  }

  /** Throws {@link writeRefusal}'s error, if any. */
  assertWriteBudget(projectId: string): void {
    const refusal = this.writeRefusal(projectId);
    if (refusal !== undefined) throw refusal;
  }

  private chargeWrites(projectId: string, count: number): void {
    this.assertWriteBudget(projectId);
    this.writes.charge(projectId, count, this.clock.now());
  }

  /**
   * 429 REGISTRATION_BUSY when as many batches of the project as may wait already do: called
   * before a batch body is validated, so a batch that would be refused costs no validation. The
   * registration itself checks again when it joins the queue.
   */
  assertBatchRoom(projectId: string): void {
    const bound = REGISTRATION_QUEUE.batch;
    const waiting = this.registrations.waiting(projectId, bound.kind);
    if (waiting >= bound.maxWaiting) throw busy(waiting, bound);
  }

  async update(
    projectId: string,
    apiType: ApiType,
    businessId: string,
    dto: UpdateInstanceDto,
  ): Promise<InstanceRecord> {
    await this.assertValidJson([dto], '');
    this.chargeWrites(projectId, 1);
    const entity = await this.findEntity(projectId, apiType, businessId);
    entity.apiIdentifier = dto.apiIdentifier;
    if (dto.userId !== undefined) entity.userId = dto.userId;
    if (dto.routingParams !== undefined) entity.routingParamsJson = JSON.stringify(dto.routingParams);
    if (dto.metadata !== undefined) entity.metadataJson = dto.metadata === null ? null : JSON.stringify(dto.metadata);
    if (dto.endpoint !== undefined) entity.endpoint = dto.endpoint;
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
    this.chargeWrites(projectId, keys.length);
    const ids = await this.dataSource.transaction(async (manager) => {
      const { found } = await findByKeys(manager, projectId, keys);
      for (const chunk of chunksOf(found, ROWS_PER_STATEMENT)) {
        await manager.delete(ApiInstanceEntity, { id: In(chunk.map((entity) => entity.id)) });
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
    bound: LaneBound,
  ): Promise<RegisteredRecord[]> {
    await this.assertValidJson(items, path);
    const distinct = dedupeFirst(items);
    this.chargeWrites(projectId, distinct.length);
    const registering = this.registrations.run(
      projectId,
      async () => {
        try {
          return await this.register(projectId, distinct);
        } catch (error) {
          // Registered meanwhile by a node that takes no registration lock (an older version during
          // a rolling upgrade): once more, those now exist.
          if (!isUniqueViolation(error)) throw error;
          return this.register(projectId, distinct).catch((again: unknown) => {
            // Still a duplicate key: two keys the database's collation holds equal (MariaDB pads spaces).
            throw isUniqueViolation(again) ? conflictError(distinct) : again;
          });
        }
      },
      bound,
    );
    return registering.catch((error: unknown) => {
      throw error instanceof LaneFullError ? busy(error.waiting, bound) : error;
    });
  }

  /**
   * Inserts the instances not registered yet and updates those whose registration changes them.
   * MySQL: one transaction under the project's named registration lock, so nodes registering for
   * one project at once count one after the other, while the project's row stays free for the
   * other writes that need it (every tenant's minute metrics and breaker events); its waits on the
   * server leave the event loop free. SQLite (one node, a synchronous driver that holds the event
   * loop for a whole transaction): the plan is read first, then the rows are written 200 per
   * transaction with the event loop free in between, each chunk mirrored into the index as it
   * commits; the cap was checked for the whole batch, and this node registers for a project one
   * request at a time.
   */
  private async register(projectId: string, distinct: readonly CreateInstanceDto[]): Promise<RegisteredRecord[]> {
    const limit = this.config.limits.instancesPerProject;
    if (this.dataSource.options.type === 'mysql') {
      const outcome = await inRegistrationLock(this.dataSource, projectId, async (manager) => {
        const plan = await planRegistration(manager, projectId, distinct, limit);
        return plan.kind === 'write' ? { kind: 'written' as const, items: await writePlan(manager, plan.items) } : plan;
      });
      if (outcome.kind !== 'written') throw refusal(outcome, limit);
      return this.registered(projectId, outcome.items);
    }
    const plan = await planRegistration(this.dataSource.manager, projectId, distinct, limit);
    if (plan.kind !== 'write') throw refusal(plan, limit);
    const registered: RegisteredRecord[] = [];
    for (const [i, chunk] of chunksOf(plan.items, ROWS_PER_STATEMENT).entries()) {
      if (i > 0) await nextTurn();
      const written = await this.dataSource.transaction((manager) => writePlan(manager, chunk));
      registered.push(...this.registered(projectId, written));
    }
    return registered;
  }

  /**
   * Mirrors the created and updated rows into the index (and tells the other nodes); unchanged ones
   * are read from it. A row deleted before it could be read back is answered but not indexed.
   */
  private registered(projectId: string, items: readonly WrittenItem[]): RegisteredRecord[] {
    const changed = this.committed(
      projectId,
      items.filter((item) => item.registration !== 'unchanged' && item.stored).map((item) => item.entity),
    );
    const byId = new Map(changed.map((record) => [record.id, record]));
    return items.map(({ registration, entity }) => ({
      registration,
      record: byId.get(entity.id) ?? this.index.get(entity.id) ?? toRecord(entity),
    }));
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

  /** The instance with exactly this key (a collation that matches case or trailing spaces is not enough). */
  private async findEntity(projectId: string, apiType: ApiType, businessId: string): Promise<ApiInstanceEntity> {
    const rows = await this.instances.find({ where: { projectId, apiType, businessId } });
    const entity = rows.find((row) => row.businessId === businessId);
    if (!entity) throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${apiType}/${businessId} not found`);
    return entity;
  }

  /**
   * `routingParams` and `metadata`: their known keys and size (`routing-params.ts`), then keys per
   * object and depth; a few items per turn of the event loop. Runs after the DTO's validation, so a
   * body with both kinds of error reports the DTO's first.
   */
  private async assertValidJson(
    items: readonly { routingParams?: unknown; metadata?: unknown }[],
    path: string,
  ): Promise<void> {
    const limits = this.config.limits;
    const errors: FieldError[] = [];
    await forEachInChunks(items, CHECKS_PER_TURN, (item, i) => {
      const at = path ? `${path}.${i}` : '';
      errors.push(...checkInstanceJson(item, at, limits), ...checkJsonShape(item, at, limits));
    });
    if (errors.length > 0) throw validationError(errors);
  }
}

/** An instance a registration wrote or found, and how it left it. */
export interface RegisteredRecord {
  readonly registration: Registration;
  readonly record: InstanceRecord;
}

/** The first item of each apiType + businessId, in request order. */
function dedupeFirst(items: readonly CreateInstanceDto[]): CreateInstanceDto[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = keyOf(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** 429 REGISTRATION_BUSY: `waiting` registrations of this kind already wait for the project here. */
function busy(waiting: number, bound: LaneBound): GatewayError {
  const what = bound.kind === 'batch' ? 'batch registrations' : 'registrations';
  return registrationBusy(`${waiting} ${what} of this project are already waiting; retry`, {
    waiting,
    limit: bound.maxWaiting,
  });
}

/** 429 REGISTRY_BUDGET_EXHAUSTED with `Retry-After`: the project wrote its minute's worth of instances. */
function registryBudgetExhausted(perMinute: number, retryAfterMs: number): GatewayError {
  return new GatewayError(
    'REGISTRY_BUDGET_EXHAUSTED',
    `The project wrote more than ${perMinute} instances a minute; retry after ${retryAfterMs} ms`,
    {
      details: { limit: perMinute, retryAfterMs },
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    },
  );
}

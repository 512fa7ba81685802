import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  Between,
  type FindOperator,
  type FindOptionsWhere,
  In,
  LessThanOrEqual,
  Like,
  MoreThanOrEqual,
  Repository,
} from 'typeorm';
import { type Page, skipOf } from '../common/pagination';
import { ProjectsService } from '../tenancy/projects.service';
import { BreakerEventEntity } from './breaker-event.entity';
import type { BreakerEventQueryDto } from './dto/breaker-event.dto';

/** A row of `breaker_events` before it is written. */
export type BreakerEventRow = Pick<
  BreakerEventEntity,
  'id' | 'projectId' | 'instanceId' | 'fromState' | 'toState' | 'reason' | 'at'
>;

export interface InsertResult {
  readonly written: number;
  /** Rows left out because their project is gone or they were already stored. */
  readonly discarded: number;
}

/** The `breaker_events` table: batched inserts for the write-behind log, paged admin listings. */
@Injectable()
export class BreakerEventsService {
  constructor(
    @InjectRepository(BreakerEventEntity) private readonly events: Repository<BreakerEventEntity>,
    private readonly projects: ProjectsService,
  ) {}

  /**
   * Writes one batch as a single multi-row INSERT (atomic on its own, so no transaction).
   * When it fails, rows that can never be written are left out and the rest tried once more:
   * events of a project deleted while they were queued (foreign key), and rows an earlier
   * attempt did store although it reported an error. Otherwise one such row would block the
   * whole log on every retry. Throws when the database itself is the problem.
   */
  async insert(rows: readonly BreakerEventRow[]): Promise<InsertResult> {
    if (rows.length === 0) return { written: 0, discarded: 0 };
    try {
      await this.write(rows);
      return { written: rows.length, discarded: 0 };
    } catch (error) {
      const writable = await this.writableOf(rows);
      if (writable.length === rows.length) throw error;
      if (writable.length > 0) await this.write(writable);
      return { written: writable.length, discarded: rows.length - writable.length };
    }
  }

  /** False once the DataSource is closed (late in shutdown): writing then can only fail. */
  isOpen(): boolean {
    return this.events.manager.dataSource.isInitialized;
  }

  /** Events across projects, newest first. */
  /**
   * The override in force per instance, from the log: the latest operator event of each instance
   * whose state is FORCED_OPEN or DISABLED (AUTO ends an override). Operator events are rare, so
   * reading them all is cheap; start-up only.
   */
  async operatorOverrides(): Promise<{ instanceId: string; state: 'FORCED_OPEN' | 'DISABLED'; at: Date }[]> {
    const rows = await this.events.find({
      select: { instanceId: true, toState: true, at: true, id: true },
      where: { reason: Like('operator:%') },
      order: { at: 'DESC', id: 'DESC' },
    });
    const seen = new Set<string>();
    const overrides: { instanceId: string; state: 'FORCED_OPEN' | 'DISABLED'; at: Date }[] = [];
    for (const row of rows) {
      if (seen.has(row.instanceId)) continue;
      seen.add(row.instanceId);
      if (row.toState === 'FORCED_OPEN' || row.toState === 'DISABLED') {
        overrides.push({ instanceId: row.instanceId, state: row.toState, at: row.at });
      }
    }
    return overrides;
  }

  async list(query: BreakerEventQueryDto): Promise<Page<BreakerEventEntity>> {
    const [items, total] = await this.events.findAndCount({
      where: filters(query),
      order: { at: 'DESC', id: 'DESC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items, total, page: query.page, size: query.size };
  }

  private async write(rows: readonly BreakerEventRow[]): Promise<void> {
    await this.events.createQueryBuilder().insert().values(rows.slice()).updateEntity(false).execute();
  }

  private async writableOf(rows: readonly BreakerEventRow[]): Promise<BreakerEventRow[]> {
    const projects = await this.projects.namesOf([...new Set(rows.map((row) => row.projectId))]);
    const stored = await this.events.find({ select: { id: true }, where: { id: In(rows.map((row) => row.id)) } });
    const storedIds = new Set(stored.map((row) => row.id));
    return rows.filter((row) => projects.has(row.projectId) && !storedIds.has(row.id));
  }
}

function filters(query: BreakerEventQueryDto): FindOptionsWhere<BreakerEventEntity> {
  return {
    ...(query.projectId ? { projectId: query.projectId } : {}),
    ...(query.instanceId ? { instanceId: query.instanceId } : {}),
    ...(query.state ? { toState: query.state } : {}),
    ...(query.since || query.until ? { at: range(query.since, query.until) } : {}),
  };
}

function range(since: string | undefined, until: string | undefined): FindOperator<Date> {
  if (since && until) return Between(new Date(since), new Date(until));
  return since ? MoreThanOrEqual(new Date(since)) : LessThanOrEqual(new Date(until ?? ''));
}

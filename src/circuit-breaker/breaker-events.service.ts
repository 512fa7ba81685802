import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  Between,
  type FindOperator,
  type FindOptionsWhere,
  In,
  LessThan,
  LessThanOrEqual,
  Like,
  MoreThanOrEqual,
  Not,
  Repository,
} from 'typeorm';
import { type Page, skipOf } from '../common/pagination';
import { ProjectsService } from '../tenancy/projects.service';
import { BreakerEventEntity } from './breaker-event.entity';
import type { BreakerEventQueryDto } from './dto/breaker-event.dto';

/** A row of `breaker_events` before it is written (`actor` absent: `system`, the column's default). */
export type BreakerEventRow = Pick<
  BreakerEventEntity,
  'id' | 'projectId' | 'instanceId' | 'fromState' | 'toState' | 'reason' | 'at'
> &
  Partial<Pick<BreakerEventEntity, 'actor'>>;

/** Rows per DELETE of the retention purge: a long-unpurged table goes in short statements. */
const PURGE_BATCH = 1000;

/** An operator's override still in force on an instance, with the id of the row that says so. */
interface OverrideInForce {
  readonly id: string;
  readonly instanceId: string;
  readonly state: 'FORCED_OPEN' | 'DISABLED';
  readonly at: Date;
}

export interface InsertResult {
  readonly written: number;
  /** Rows left out because their project is gone or they were already stored. */
  readonly discarded: number;
}

/**
 * The `breaker_events` table: batched inserts for the write-behind log, paged admin listings, the
 * operator overrides in force, and the retention purge.
 */
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

  /**
   * The override in force per instance, from the log: the latest operator event of each instance
   * whose state is FORCED_OPEN or DISABLED (AUTO ends an override). Operator events are rare, so
   * reading them all is cheap; start-up only.
   */
  async operatorOverrides(): Promise<{ instanceId: string; state: 'FORCED_OPEN' | 'DISABLED'; at: Date }[]> {
    return (await this.overridesInForce()).map(({ instanceId, state, at }) => ({ instanceId, state, at }));
  }

  /**
   * Deletes the events before `before` (the retention), oldest first, in batches of 1000 rows,
   * except the event of each operator override still in force however old it is: a restart
   * restores those overrides from this log. Returns how many rows went.
   */
  async purgeBefore(before: Date): Promise<number> {
    const keep = (await this.overridesInForce()).map((override) => override.id);
    const where: FindOptionsWhere<BreakerEventEntity> = {
      at: LessThan(before),
      ...(keep.length > 0 ? { id: Not(In(keep)) } : {}),
    };
    let removed = 0;
    for (;;) {
      const batch = await this.events.find({ select: { id: true }, where, order: { at: 'ASC' }, take: PURGE_BATCH });
      if (batch.length === 0) return removed;
      const result = await this.events.delete({ id: In(batch.map((row) => row.id)) });
      removed += result.affected ?? batch.length;
      if (batch.length < PURGE_BATCH) return removed;
    }
  }

  /** Events across projects, newest first. */
  async list(query: BreakerEventQueryDto): Promise<Page<BreakerEventEntity>> {
    const [items, total] = await this.events.findAndCount({
      where: filters(query),
      order: { at: 'DESC', id: 'DESC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items, total, page: query.page, size: query.size };
  }

  private async overridesInForce(): Promise<OverrideInForce[]> {
    const rows = await this.events.find({
      select: { instanceId: true, toState: true, at: true, id: true },
      where: { reason: Like('operator:%') },
      order: { at: 'DESC', id: 'DESC' },
    });
    const seen = new Set<string>();
    const overrides: OverrideInForce[] = [];
    for (const row of rows) {
      if (seen.has(row.instanceId)) continue;
      seen.add(row.instanceId);
      if (row.toState === 'FORCED_OPEN' || row.toState === 'DISABLED') {
        overrides.push({ id: row.id, instanceId: row.instanceId, state: row.toState, at: row.at });
      }
    }
    return overrides;
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

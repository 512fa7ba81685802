import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DATABASE_MIGRATED } from '../database/database.module';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { toRecord } from './instance-mapping';
import { RegistryIndex } from './registry-index';

const PAGE = 10_000;

/**
 * Fills the {@link RegistryIndex} from the database before the app reports ready, and keeps it
 * in step with project deletions (whose instances the database cascades away).
 */
@Injectable()
export class RegistryWarmupService implements OnModuleInit {
  private readonly logger = new Logger('Registry');

  constructor(
    @InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>,
    private readonly index: RegistryIndex,
    @InjectEventBus() private readonly events: EventBus,
    @Inject(DATABASE_MIGRATED) private readonly _migrated: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    this.events.subscribe('project.deleted', (event) => {
      // The database cascaded the instances away; tell their other holders (leases, statistics).
      const ids = this.index.listByProject(event.projectId).map((record) => record.id);
      this.index.removeProject(event.projectId);
      if (ids.length > 0)
        this.events.publish({ type: 'instances.deleted', projectId: event.projectId, instanceIds: ids });
    });
    await this.warm();
  }

  /** Rebuilds the index from the database (start-up; also after a lost event stream). */
  async warm(): Promise<void> {
    const started = performance.now();
    this.index.replaceAll(await this.loadAll());
    const ms = Math.round(performance.now() - started);
    this.logger.log(`Registry warmed: ${this.index.size} instances in ${ms} ms`);
  }

  /** Every row, read in id order by keyset pages so memory stays flat on large registries. */
  private async loadAll(): Promise<ReturnType<typeof toRecord>[]> {
    const records: ReturnType<typeof toRecord>[] = [];
    let after = '';
    for (;;) {
      const rows = await this.instances
        .createQueryBuilder('i')
        .where('i.id > :after', { after })
        .orderBy('i.id', 'ASC')
        .limit(PAGE)
        .getMany();
      for (const row of rows) records.push(toRecord(row));
      if (rows.length < PAGE) return records;
      after = rows[rows.length - 1].id;
    }
  }
}

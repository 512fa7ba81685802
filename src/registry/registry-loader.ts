import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DATABASE_MIGRATED } from '../database/database.module';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { toRecord } from './instance-mapping';
import type { InstanceRecord } from './instance-record';
import { RegistryIndex } from './registry-index';

const PAGE = 10_000;

/**
 * Resolves once the {@link RegistryIndex} holds every registered instance. Providers that need
 * the registry at start-up (operator overrides restored per instance) inject it, so they run
 * after the load whatever the module order.
 */
export const REGISTRY_LOADED = Symbol('REGISTRY_LOADED');

/** Fills the {@link RegistryIndex} from the database: at start-up, before the app reports ready. */
@Injectable()
export class RegistryLoader {
  private readonly logger = new Logger('Registry');

  constructor(
    @InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>,
    private readonly index: RegistryIndex,
    @Inject(DATABASE_MIGRATED) private readonly _migrated: boolean,
  ) {}

  /** Rebuilds the index from the database (start-up; also after a lost event stream). */
  async load(): Promise<void> {
    const started = performance.now();
    this.index.replaceAll(await this.loadAll());
    const ms = Math.round(performance.now() - started);
    this.logger.log(`Registry warmed: ${this.index.size} instances in ${ms} ms`);
  }

  /** Every row, read in id order by keyset pages so memory stays flat on large registries. */
  private async loadAll(): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
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

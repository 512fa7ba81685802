/**
 * The database phase's first half, run in a child process: migrates a fresh SQLite file and fills
 * it with the synthetic data set. Apart so that inserting 100,000 rows leaves nothing behind in the
 * process whose warm-up is measured: V8 and malloc keep the pages of that garbage (about 125 MB of
 * RSS measured in-process), which a gateway starting against an existing database never has.
 *
 *   node -r ts-node/register/transpile-only bench/registry/seed-database.ts <file> <projects> <instances> <seed>
 *
 * Reports `{ migrateMs, insertMs }` to the parent over IPC (or stdout when run by hand).
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { ApiInstanceEntity } from '../../src/registry/entities/api-instance.entity';
import type { InstanceRecord } from '../../src/registry/instance-record';
import { AdminUserEntity } from '../../src/tenancy/entities/admin-user.entity';
import { ApiKeyEntity } from '../../src/tenancy/entities/api-key.entity';
import { ProjectEntity } from '../../src/tenancy/entities/project.entity';
import { SettingEntity } from '../../src/tenancy/entities/setting.entity';
import { type SyntheticOptions, syntheticInstances } from './synthetic-instances';

/** Every entity the gateway registers, so the DataSource builds the app's full metadata. */
export const ENTITIES = [SettingEntity, ProjectEntity, ApiKeyEntity, AdminUserEntity, ApiInstanceEntity];

export interface SeedTimes {
  readonly migrateMs: number;
  readonly insertMs: number;
}

/** 500 × 11 = 5,500 parameters per statement, well under SQLite's 32,766. */
const ROWS_PER_INSERT = 500;
const PROJECT_COLUMNS = ['id', 'name', 'status', 'settings'];
const INSTANCE_COLUMNS = [
  'id',
  'project_id',
  'user_id',
  'api_identifier',
  'api_type',
  'business_id',
  'routing_params',
  'metadata',
  'status',
  'created_at',
  'updated_at',
];

/** TypeORM's own SQLite datetime text (UTC, milliseconds), so rows read back as the app's do. */
function sqliteDate(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 23);
}

function instanceRow(r: InstanceRecord): unknown[] {
  const metadata = r.metadata === null ? null : JSON.stringify(r.metadata);
  const { id, projectId, userId, apiIdentifier, apiType, businessId, status } = r;
  const row = [id, projectId, userId, apiIdentifier, apiType, businessId, JSON.stringify(r.routingParams), metadata];
  return [...row, status, sqliteDate(r.createdAt), sqliteDate(r.updatedAt)];
}

async function insertChunked(
  manager: EntityManager,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
): Promise<void> {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    const chunk = rows.slice(at, at + ROWS_PER_INSERT);
    const values = chunk.map(() => tuple).join(', ');
    await manager.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, chunk.flat());
  }
}

/** Projects first (api_instances references them), then every instance; one transaction. */
async function insertAll(dataSource: DataSource, records: readonly InstanceRecord[]): Promise<void> {
  const projectIds = [...new Set(records.map((record) => record.projectId))];
  const projects = projectIds.map((id, i) => [id, `bench-project-${i}`, 'ACTIVE', '{}']);
  const instances = records.map(instanceRow);
  await dataSource.transaction(async (manager) => {
    await insertChunked(manager, 'projects', PROJECT_COLUMNS, projects);
    await insertChunked(manager, 'api_instances', INSTANCE_COLUMNS, instances);
  });
}

/** A fresh, migrated file database holding the synthetic data set; the DataSource is closed after. */
export async function seedDatabase(path: string, data: SyntheticOptions): Promise<SeedTimes> {
  const dataSource = await new DataSource(dataSourceOptions({ type: 'sqlite', path }, ENTITIES)).initialize();
  try {
    let started = performance.now();
    await dataSource.runMigrations({ transaction: 'each' });
    const migrateMs = performance.now() - started;
    const records = syntheticInstances(data);
    started = performance.now();
    await insertAll(dataSource, records);
    return { migrateMs, insertMs: performance.now() - started };
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const [path, projects, perProject, seed] = process.argv.slice(2);
  if (path === undefined || seed === undefined)
    throw new Error('usage: seed-database.ts <file> <projects> <instances> <seed>');
  Logger.overrideLogger(['warn', 'error']);
  const times = await seedDatabase(path, {
    projects: Number(projects),
    perProject: Number(perProject),
    seed: Number(seed),
  });
  if (process.send === undefined) console.log(JSON.stringify(times));
  else process.send(times, () => process.disconnect());
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { ApiInstanceEntity } from '../../src/registry/entities/api-instance.entity';
import { RegistryIndex } from '../../src/registry/registry-index';
import { RegistryLoader } from '../../src/registry/registry-loader';
import { ENTITIES, type SeedTimes } from './seed-database';
import { type SyntheticOptions, syntheticInstances } from './synthetic-instances';
import { MB, memoryMb, type MemoryReading } from './timing';

export interface DatabasePhase extends SeedTimes {
  /** Loaded from the database by the gateway's own RegistryLoader. */
  readonly index: RegistryIndex;
  readonly fileMb: number;
  /** Opening a DataSource on the filled file (entity metadata, connection, pragmas). */
  readonly connectMs: number;
  /** RegistryLoader.load(): keyset-paged getMany, toRecord, replaceAll. */
  readonly warmUpMs: number;
  readonly memory: {
    readonly before: MemoryReading;
    readonly beforeWarmUp: MemoryReading;
    readonly after: MemoryReading;
  };
}

/** Runs seed-database.ts in a child process (same node flags as this one) and returns its timings. */
function seedInChild(path: string, { projects, perProject, seed }: SyntheticOptions): Promise<SeedTimes> {
  const args = [path, String(projects), String(perProject), String(seed)];
  const child = fork(join(__dirname, 'seed-database.ts'), args);
  return new Promise((resolve, reject) => {
    let times: SeedTimes | undefined;
    child.on('message', (message) => (times = message as SeedTimes));
    child.on('error', reject);
    child.on('exit', (code) =>
      times !== undefined && code === 0 ? resolve(times) : reject(new Error(`seeding the database exited ${code}`)),
    );
  });
}

/**
 * Start-up as the gateway does it, against a real SQLite file: a child process migrates and fills
 * a fresh file, then this process opens a DataSource on it (no TypeORM or SQLite cache; the OS page
 * cache stays warm) and times RegistryLoader.load(). The temp directory is removed either way.
 */
export async function runDatabasePhase(data: SyntheticOptions): Promise<DatabasePhase> {
  const before = memoryMb();
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-'));
  try {
    const path = join(dir, 'gateway.sqlite');
    const seeded = await seedInChild(path, data);
    const fileMb = statSync(path).size / MB;
    const beforeWarmUp = memoryMb();
    let started = performance.now();
    const dataSource = await new DataSource(dataSourceOptions({ type: 'sqlite', path }, ENTITIES)).initialize();
    const connectMs = performance.now() - started;
    try {
      const index = new RegistryIndex();
      const repository = dataSource.getRepository(ApiInstanceEntity);
      const warmup = new RegistryLoader(repository, index, true);
      started = performance.now();
      await warmup.load();
      const warmUpMs = performance.now() - started;
      const after = memoryMb();
      return { ...seeded, index, fileMb, connectMs, warmUpMs, memory: { before, beforeWarmUp, after } };
    } finally {
      await dataSource.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every synthetic record must come back from the database unchanged (ids, JSON, dates). */
export function verifyRoundTrip(index: RegistryIndex, data: SyntheticOptions): void {
  const expected = syntheticInstances(data);
  const differing = expected.filter((record) => JSON.stringify(index.get(record.id)) !== JSON.stringify(record));
  if (differing.length > 0 || index.size !== expected.length) {
    throw new Error(`database round trip: ${differing.length} records differ, ${index.size}/${expected.length} held`);
  }
}

import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { MIGRATIONS } from './migrations';
import { QueryCountingLogger } from './query-logger';

type EntityList = NonNullable<DataSourceOptions['entities']>;

/**
 * The TypeORM options for the configured database. One function serves the app (entities
 * registered by the feature modules) and the migration CLI (`ormconfig.ts`, entity globs).
 */
export function dataSourceOptions(database: DatabaseConfig, entities: EntityList = []): DataSourceOptions {
  const common = {
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logger: new QueryCountingLogger(),
    maxQueryExecutionTime: 1000,
  } as const;
  if (database.type === 'sqlite') {
    return {
      ...common,
      type: 'better-sqlite3',
      database: database.path,
      // WAL lets readers (monitoring) run while the write-behind flush writes.
      enableWAL: database.path !== ':memory:',
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('foreign_keys = ON');
        db.pragma('busy_timeout = 5000');
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    host: database.host,
    port: database.port,
    username: database.username,
    password: database.password,
    database: database.database,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    connectTimeout: 5000,
    extra: { connectionLimit: 10 },
  };
}

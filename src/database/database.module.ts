import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';

/**
 * Resolves once the schema is migrated. Providers that read the database at start-up (index
 * warm-up, bootstrap seeding) inject it so they run after the migrations.
 */
export const DATABASE_MIGRATED = Symbol('DATABASE_MIGRATED');

/**
 * TypeORM on SQLite (default) or MySQL. Migrations run at start-up unless
 * `GATEWAY_MIGRATIONS_RUN=false`; entities come from the feature modules (`forFeature`).
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config.database),
        autoLoadEntities: true,
        // Fail fast: main.ts already checked the database is reachable, with a clear message.
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options) => {
        if (!options) throw new Error('TypeORM options missing');
        if (options.type === 'better-sqlite3') await ensureDatabase({ type: 'sqlite', path: options.database });
        return new DataSource(options).initialize();
      },
    }),
  ],
  providers: [
    {
      provide: DATABASE_MIGRATED,
      inject: [APP_CONFIG, DataSource],
      useFactory: async (config: AppConfig, dataSource: DataSource) => {
        if (config.runMigrations) await dataSource.runMigrations({ transaction: 'each' });
        return true;
      },
    },
  ],
  exports: [DATABASE_MIGRATED],
})
export class DatabaseModule {}

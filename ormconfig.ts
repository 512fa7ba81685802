import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/database/data-source-options';

/**
 * The DataSource for the TypeORM CLI (`npm run migration:run | migration:revert | migration:generate`),
 * configured from the same environment variables as the gateway.
 */
export default new DataSource(dataSourceOptions(loadConfig().database, ['src/**/*.entity.ts']));

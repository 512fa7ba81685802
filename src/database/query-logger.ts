import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { describeQueryError } from '../common/query-errors';

/**
 * TypeORM's logger: counts every query (tests use the count to prove the hot path touches no
 * database), logs errors and slow queries without their parameters (they can hold hashes and
 * other values that do not belong in logs).
 */
export class QueryCountingLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');
  queries = 0;

  logQuery(): void {
    this.queries += 1;
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.warn({ err: describeQueryError(error), query: query.slice(0, 500) }, 'Query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ ms: time, query: query.slice(0, 500) }, 'Slow query');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(message);
    else this.logger.debug(message);
  }
}

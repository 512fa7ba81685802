import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

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

/** What a failed statement's error may show in a log: no parameters, no values quoted by the driver. */
export interface QueryErrorSummary {
  readonly type: string;
  /** The driver's code, e.g. `ER_DUP_ENTRY` or `SQLITE_CONSTRAINT_UNIQUE`. */
  readonly code?: string;
  /** The driver's message with every quoted value replaced by `'…'`. */
  readonly message: string;
}

/**
 * The loggable part of a driver error. TypeORM's `QueryFailedError` carries the statement's
 * `parameters` and the driver's error its `sql` (MySQL inlines values there) and a message that
 * quotes the offending value ("Duplicate entry 'alice@example.com' for key …"): a pino `err`
 * serialiser would write all of them. Only the type, the code and the message without its quoted
 * values are kept.
 */
export function describeQueryError(error: string | Error): QueryErrorSummary {
  if (typeof error === 'string') return { type: 'Error', message: withoutQuotedValues(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: withoutQuotedValues(error.message),
  };
}

function withoutQuotedValues(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.)*'/g, "'…'").slice(0, 500);
}

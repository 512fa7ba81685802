import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../config/app-config';

/** A start-up failure that deserves one clear line, not a stack trace. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Makes sure the configured database can be used: creates the SQLite folder, or connects to
 * MySQL and creates the schema if it is missing. Throws {@link DatabaseUnavailableError} with
 * a message an operator can act on.
 */
export async function ensureDatabase(database: DatabaseConfig): Promise<void> {
  if (database.type === 'sqlite') {
    if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true });
    return;
  }
  const where = `mysql://${database.username}@${database.host}:${database.port}/${database.database}`;
  let connection;
  try {
    connection = await createConnection({
      host: database.host,
      port: database.port,
      user: database.username,
      password: database.password,
      connectTimeout: 5000,
    });
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new DatabaseUnavailableError(`Cannot connect to the database at ${where}: ${reason}`, { cause: error });
  }
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${database.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } catch (error) {
    throw new DatabaseUnavailableError(
      `Connected to ${where} but cannot create or use the database: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await connection.end();
  }
}

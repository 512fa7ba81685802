import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/**
 * A database a suite runs against: SQLite in memory always, and MySQL/MariaDB when
 * `TEST_DATABASE_URL` is set. Each MySQL suite gets its own fresh schema (created on prepare,
 * dropped on dispose), so suites can run in parallel on one server.
 */
export interface TestDatabase {
  readonly name: 'sqlite' | 'mysql';
  /** Environment variables that point the gateway at a fresh, empty database. */
  prepare(): Promise<Record<string, string>>;
  dispose(): Promise<void>;
}

export function sqliteDatabase(): TestDatabase {
  return {
    name: 'sqlite',
    prepare: () => Promise.resolve({ DATABASE_URL: '', GATEWAY_SQLITE_PATH: ':memory:' }),
    dispose: () => Promise.resolve(),
  };
}

export function mysqlDatabase(baseUrl: string): TestDatabase {
  const base = new URL(baseUrl);
  const schema = `${base.pathname.replace(/^\//, '') || 'gateway_test'}_${randomBytes(4).toString('hex')}`;
  const admin = async <T>(work: (run: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T> => {
    const connection = await createConnection({
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
    });
    try {
      return await work((sql) => connection.query(sql));
    } finally {
      await connection.end();
    }
  };
  return {
    name: 'mysql',
    async prepare() {
      await admin((run) => run(`CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`));
      const url = new URL(base.toString());
      url.pathname = `/${schema}`;
      return { DATABASE_URL: url.toString() };
    },
    dispose: async () => {
      await admin((run) => run(`DROP DATABASE IF EXISTS \`${schema}\``));
    },
  };
}

/** SQLite always; MySQL too when `TEST_DATABASE_URL` is set (CI sets it). */
export function databasesUnderTest(): TestDatabase[] {
  const url = process.env.TEST_DATABASE_URL;
  return url ? [sqliteDatabase(), mysqlDatabase(url)] : [sqliteDatabase()];
}

/**
 * Runs a describe block once per database under test.
 *
 * @example
 * describeEachDatabase('instances', (database) => {
 *   beforeAll(async () => { app = await createTestApp({ database }); });
 * });
 */
export function describeEachDatabase(title: string, body: (database: TestDatabase) => void): void {
  for (const database of databasesUnderTest()) {
    describe(`${title} [${database.name}]`, () => body(database));
  }
}

import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { describeWhenAvailable } from './requirements';

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

/** Why the MySQL variants cannot run, or undefined when `TEST_DATABASE_URL` is set. */
export function mysqlMissing(): string | undefined {
  return process.env.TEST_DATABASE_URL
    ? undefined
    : 'TEST_DATABASE_URL is not set: the MySQL/MariaDB variant needs a server ' +
        '(e.g. TEST_DATABASE_URL=mysql://root@127.0.0.1:3306/gateway_test; each suite creates and drops its own database)';
}

/** A database that is not there: a skipped variant registers its tests with it, never runs them. */
const ABSENT_MYSQL: TestDatabase = {
  name: 'mysql',
  prepare: () => Promise.reject(new Error(mysqlMissing())),
  dispose: () => Promise.resolve(),
};

/**
 * Runs a describe block once per database: SQLite always, MySQL/MariaDB with `TEST_DATABASE_URL`.
 * Without it the MySQL variant is not silently dropped: it fails under `CI=true` with a message
 * naming the variable, and is reported as skipped (its tests counted) elsewhere.
 *
 * @example
 * describeEachDatabase('instances', (database) => {
 *   beforeAll(async () => { app = await createTestApp({ database }); });
 * });
 */
export function describeEachDatabase(title: string, body: (database: TestDatabase) => void): void {
  describe(`${title} [sqlite]`, () => body(sqliteDatabase()));
  const url = process.env.TEST_DATABASE_URL;
  const database = url ? mysqlDatabase(url) : ABSENT_MYSQL;
  describeWhenAvailable(`${title} [mysql]`, url ? [] : [mysqlMissing()!], () => body(database));
}

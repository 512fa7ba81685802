import { DataSource, type ObjectLiteral } from 'typeorm';
import { describeWhenAvailable } from '../../test/utils/requirements';
import { mysqlDatabase, mysqlMissing, type TestDatabase } from '../../test/utils/test-database';
import { GatewayError } from '../common/gateway-error';
import { statusOf } from '../common/error-codes';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { inRegistrationLock, registrationLockName } from './registration-lock';

const PROJECT = 'f'.repeat(32);

/**
 * The registration lock against a real MariaDB/MySQL (`TEST_DATABASE_URL`): a named lock held on
 * the connection of the transaction, released whatever the outcome, and a clear 429 when another
 * node holds it for too long.
 */
describeWhenAvailable(
  'inRegistrationLock [mysql]',
  [mysqlMissing()].filter((why) => why !== undefined),
  () => {
    let database: TestDatabase;
    let dataSource: DataSource;
    /** A second pool: another node, whose connections hold or probe the lock. */
    let other: DataSource;

    beforeAll(async () => {
      database = mysqlDatabase(process.env.TEST_DATABASE_URL ?? '');
      const config = loadConfig({ LOG_LEVEL: 'silent', ...(await database.prepare()) });
      dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
      other = await new DataSource(dataSourceOptions(config.database)).initialize();
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await other?.destroy();
      await database?.dispose();
    });

    /** Whether a connection other than the caller's holds the project's lock. */
    const held = async (): Promise<boolean> => {
      const [row] = await other.query<{ holder: unknown }[]>('SELECT IS_USED_LOCK(?) AS holder', [
        registrationLockName(PROJECT),
      ]);
      return row.holder !== null;
    };

    it('holds the lock while the work runs, in a transaction on the same connection, and releases it after', async () => {
      const seen = await inRegistrationLock(dataSource, PROJECT, async (manager) => {
        // @@in_transaction: MariaDB's; the suites run on MariaDB.
        const [row] = await manager.query<{ mine: unknown; inTransaction: unknown }[]>(
          'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine, @@in_transaction AS inTransaction',
          [registrationLockName(PROJECT)],
        );
        return { mine: Number(row.mine), inTransaction: Number(row.inTransaction), heldForOthers: await held() };
      });
      expect(seen).toEqual({ mine: 1, inTransaction: 1, heldForOthers: true });
      expect(await held()).toBe(false);
    });

    it('releases the lock and rolls back when the work fails', async () => {
      await dataSource.query('CREATE TABLE IF NOT EXISTS lock_probe (id INT PRIMARY KEY)');
      await expect(
        inRegistrationLock(dataSource, PROJECT, async (manager) => {
          await manager.query('INSERT INTO lock_probe (id) VALUES (1)');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await held()).toBe(false);
      expect(await dataSource.query('SELECT id FROM lock_probe')).toEqual([]);
    });

    it("another node's registration of the project waits for the lock; past the timeout, 429 REGISTRATION_BUSY", async () => {
      const holder = other.createQueryRunner();
      await holder.connect();
      try {
        await holder.query('SELECT GET_LOCK(?, 0)', [registrationLockName(PROJECT)]);
        const work = jest.fn(() => Promise.resolve('ran'));
        const start = performance.now();
        const refused = await inRegistrationLock(dataSource, PROJECT, work, 1).catch((error: unknown) => error);
        const waited = performance.now() - start;
        expect(refused).toBeInstanceOf(GatewayError);
        const error = refused as GatewayError;
        expect({
          code: error.code,
          status: statusOf(error.code),
          details: error.details,
          headers: error.headers,
        }).toEqual({
          code: 'REGISTRATION_BUSY',
          status: 429,
          details: { waitedMs: 1000, retryAfterMs: 1000 },
          headers: { 'Retry-After': '1' },
        });
        expect(work).not.toHaveBeenCalled();
        expect(waited).toBeGreaterThanOrEqual(900);
        // Another project's registration does not wait for this one's.
        await expect(inRegistrationLock(dataSource, 'e'.repeat(32), work, 1)).resolves.toBe('ran');
      } finally {
        await holder.query('DO RELEASE_LOCK(?)', [registrationLockName(PROJECT)]);
        await holder.release();
      }
      await expect(inRegistrationLock(dataSource, PROJECT, () => Promise.resolve('after'), 1)).resolves.toBe('after');
    });

    it('lets no connection go back to the pool still holding the lock, even when the release fails', async () => {
      const create = dataSource.createQueryRunner.bind(dataSource);
      const spy = jest.spyOn(dataSource, 'createQueryRunner').mockImplementationOnce((mode) => {
        const runner = create(mode);
        const query = runner.query.bind(runner);
        jest
          .spyOn(runner, 'query')
          .mockImplementation((sql: string, parameters?: unknown[] | ObjectLiteral) =>
            sql.startsWith('DO RELEASE_LOCK') ? Promise.reject(new Error('lost')) : query(sql, parameters),
          );
        return runner;
      });
      try {
        await expect(inRegistrationLock(dataSource, PROJECT, () => Promise.resolve('committed'))).resolves.toBe(
          'committed',
        );
      } finally {
        spy.mockRestore();
      }
      // The server freed the lock with the destroyed connection.
      await expect(inRegistrationLock(other, PROJECT, () => Promise.resolve('free'), 2)).resolves.toBe('free');
    });
  },
);

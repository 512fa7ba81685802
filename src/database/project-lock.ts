import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

const logger = new Logger('Database');

/**
 * Seconds a write waits for another one holding its project's lock before it gives up. A node
 * holds it for one registration of the project at a time (a 5000-instance batch took 0.4–2.3 s
 * end to end on a loaded local MariaDB), so 10 s covers several nodes' turns.
 */
export const PROJECT_LOCK_TIMEOUT_SECONDS = 10;

/**
 * The name of a project's write lock. MySQL's named locks are server-wide, across databases: two
 * gateways sharing a server could only share a name for the same project id, a random
 * 32-character id — at worst their writes of it would take turns.
 */
export function projectLockName(projectId: string): string {
  return `gw:reg:${projectId}`;
}

/**
 * MySQL/MariaDB: runs `work` in one transaction while holding the project's named write lock
 * (`GET_LOCK`), so that writes of one project that must not interleave — registrations counting
 * the instance cap, updates of the project row — run one after the other on every node.
 *
 * A named lock, not the project's row: a row lock taken `FOR UPDATE` for a whole registration made
 * every insert into a table with a foreign key to `projects` (minute metrics, breaker events — one
 * flush holds every tenant's rows) wait for it, since a foreign-key check takes a shared lock on
 * the parent row; and an update of the project row queued behind a registration's shared locks
 * made those inserts queue behind the update. Nothing references a named lock. It belongs to the
 * connection, so the lock, the transaction and its release all run on one query runner; the lock
 * is released once the transaction has ended, whatever its outcome. If the release itself fails,
 * the connection is destroyed rather than returned to the pool — the server frees a closed
 * connection's locks — and the work's outcome stands.
 *
 * @throws the error `busy()` gives when the lock is not free within `timeoutSeconds`
 */
export async function inProjectLock<T>(
  dataSource: DataSource,
  projectId: string,
  work: (manager: EntityManager) => Promise<T>,
  timeoutSeconds: number,
  busy: () => Error,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  const name = projectLockName(projectId);
  try {
    await runner.connect();
    const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS got', [name, timeoutSeconds])) as { got: unknown }[];
    // 0: timed out; NULL: an error such as the wait being killed. Either way the lock is not held.
    if (Number(row?.got) !== 1) throw busy();
    try {
      return await inTransaction(runner, work);
    } finally {
      await release(runner, name);
    }
  } finally {
    await runner.release();
  }
}

async function inTransaction<T>(runner: QueryRunner, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  await runner.startTransaction();
  try {
    const result = await work(runner.manager);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    // A rollback that fails too (a lost connection) must not hide why the work failed.
    await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  }
}

async function release(runner: QueryRunner, name: string): Promise<void> {
  try {
    await runner.query('DO RELEASE_LOCK(?)', [name]);
  } catch (error) {
    logger.warn(`Could not release the project lock ${name} (${codeOf(error)}); closing its connection`);
    (runner as unknown as { databaseConnection?: { destroy?: () => void } }).databaseConnection?.destroy?.();
  }
}

/** The driver's error code, never its message: messages may quote the statement's values. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'no error code';
}

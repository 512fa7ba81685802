import type { DataSource, EntityManager } from 'typeorm';
import { PROJECT_LOCK_TIMEOUT_SECONDS, inProjectLock, projectLockName } from '../database/project-lock';
import { registrationBusy } from './registration';

/** Seconds a registration waits for the project's lock before it answers 429 REGISTRATION_BUSY. */
export const REGISTRATION_LOCK_TIMEOUT_SECONDS = PROJECT_LOCK_TIMEOUT_SECONDS;

/** The name of a project's registration lock: the project's write lock. */
export const registrationLockName = projectLockName;

/**
 * MySQL/MariaDB: runs `work` in one transaction while holding the project's write lock
 * ({@link inProjectLock}), so that registrations of one project, on every node, count its
 * instances and insert one after the other: the per-project cap holds cluster-wide.
 *
 * @throws GatewayError 429 REGISTRATION_BUSY when the lock is not free within `timeoutSeconds`
 */
export function inRegistrationLock<T>(
  dataSource: DataSource,
  projectId: string,
  work: (manager: EntityManager) => Promise<T>,
  timeoutSeconds = REGISTRATION_LOCK_TIMEOUT_SECONDS,
): Promise<T> {
  return inProjectLock(dataSource, projectId, work, timeoutSeconds, () =>
    registrationBusy(`Registrations of this project on other nodes kept it busy for ${timeoutSeconds} s; retry`, {
      waitedMs: timeoutSeconds * 1000,
    }),
  );
}

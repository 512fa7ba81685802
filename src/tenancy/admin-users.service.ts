import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, Repository } from 'typeorm';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { AdminUserCache, type AdminUserSnapshot } from './admin-user-cache';
import { AdminUserEntity, type AdminRole } from './entities/admin-user.entity';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password-hasher';
import { USERNAME_RULE, canonicalUsername, isSafeUsername } from './usernames';

/** What an admin may change of a user. */
export interface AdminUserChange {
  readonly role?: AdminRole;
  readonly password?: string;
}

/** Longest username a lookup is worth a query for (the column's length). */
const MAX_USERNAME_LENGTH = 64;

/**
 * Admin users: credentials, roles and the token version every admin token is checked against
 * (through a cache of at most a second). Changing a user's role or password, or revoking its
 * tokens, raises the version, so its older tokens stop; the last admin can be neither deleted nor
 * demoted.
 */
@Injectable()
export class AdminUsersService {
  private readonly cache: AdminUserCache;
  /** Writes that judge "is there another admin?" run one at a time on this node (SQLite has no row locks). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectRepository(AdminUserEntity) private readonly users: Repository<AdminUserEntity>,
    private readonly dataSource: DataSource,
    @InjectClock() clock: Clock,
  ) {
    this.cache = new AdminUserCache(clock, (id) => this.loadSnapshot(id));
  }

  /**
   * The user when the password matches; undefined otherwise, in the same time either way (an
   * unknown name is checked against a dummy hash). The name is made canonical first, and the row
   * the database returns must carry exactly that name: MySQL's collation would otherwise match
   * `ÁDMÍN` or `admin ` to `admin`.
   */
  async verify(username: string, password: string): Promise<AdminUserEntity | undefined> {
    const canonical = canonicalUsername(username);
    const found =
      canonical.length > 0 && canonical.length <= MAX_USERNAME_LENGTH
        ? await this.users.findOne({ where: { username: canonical } })
        : null;
    const user = found !== null && canonicalUsername(found.username) === canonical ? found : undefined;
    const matches = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
    return user && matches ? user : undefined;
  }

  /** The user as its tokens are checked against it: at most a second old, no query most of the time. */
  snapshot(id: string): Promise<AdminUserSnapshot | undefined> {
    return this.cache.get(id);
  }

  /** How many users there are, viewers included (start-up creates the first admin only when none). */
  count(): Promise<number> {
    return this.users.count();
  }

  /** Whether a user has this name once made canonical (on MySQL also collation-equal names: a lookup, not a login). */
  exists(username: string): Promise<boolean> {
    return this.users.exists({ where: { username: canonicalUsername(username) } });
  }

  /** Every user, by username (there are few: no paging). */
  list(): Promise<AdminUserEntity[]> {
    return this.users.find({ order: { username: 'ASC' } });
  }

  /** The user with this id, read from the database (not the cache); 404 `ADMIN_USER_NOT_FOUND` otherwise. */
  async get(id: string): Promise<AdminUserEntity> {
    const user = await this.users.findOne({ where: { id } });
    if (!user) throw new GatewayError('ADMIN_USER_NOT_FOUND', `Admin user ${id} not found`);
    return user;
  }

  /** A new user; the name is stored canonical and must be safe ({@link USERNAME_RULE}). */
  async create(username: string, password: string, role: AdminRole): Promise<AdminUserEntity> {
    const canonical = canonicalUsername(username);
    if (!isSafeUsername(canonical)) {
      throw new GatewayError('VALIDATION_FAILED', USERNAME_RULE, {
        details: [{ field: 'username', message: USERNAME_RULE }],
      });
    }
    if (await this.exists(canonical)) throw taken(canonical);
    const entity = this.users.create({
      id: newId(),
      username: canonical,
      passwordHash: await hashPassword(password),
      role,
      tokenVersion: 0,
    });
    try {
      await this.users.insert(entity);
    } catch (error) {
      if (await this.exists(canonical)) throw taken(canonical);
      throw error;
    }
    return this.get(entity.id);
  }

  /** Changes the role and/or the password; either stops every token the user held. */
  async update(id: string, change: AdminUserChange): Promise<AdminUserEntity> {
    const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
    await this.exclusive(() =>
      this.dataSource.transaction(async (manager) => {
        const user = await this.getIn(manager, id);
        const demoted = user.role === 'admin' && change.role !== undefined && change.role !== 'admin';
        if (demoted) await this.assertAnotherAdmin(manager, id);
        const roleChanged = change.role !== undefined && change.role !== user.role;
        if (!roleChanged && passwordHash === undefined) return;
        await manager.update(
          AdminUserEntity,
          { id },
          {
            ...(roleChanged ? { role: change.role } : {}),
            ...(passwordHash === undefined ? {} : { passwordHash }),
            tokenVersion: () => 'token_version + 1',
          },
        );
      }),
    );
    this.cache.forget(id);
    return this.get(id);
  }

  /** Deletes a user (never the last admin); its tokens stop at once. */
  async delete(id: string): Promise<void> {
    await this.exclusive(() =>
      this.dataSource.transaction(async (manager) => {
        const user = await this.getIn(manager, id);
        if (user.role === 'admin') await this.assertAnotherAdmin(manager, id);
        await manager.delete(AdminUserEntity, { id });
      }),
    );
    this.cache.forget(id);
  }

  /**
   * A user's own password change: the current password must match (403
   * `INVALID_CURRENT_PASSWORD`); every older token stops. Returns the user with its new version.
   */
  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<AdminUserEntity> {
    const user = await this.get(id);
    if (!(await verifyPassword(currentPassword, user.passwordHash))) {
      throw new GatewayError('INVALID_CURRENT_PASSWORD', 'The current password is wrong', {
        details: [{ field: 'currentPassword', message: 'does not match' }],
      });
    }
    return this.update(id, { password: newPassword });
  }

  /** Stops every token of the user (logout); the user can log in again. */
  async revokeTokens(id: string): Promise<void> {
    await this.users.increment({ id }, 'tokenVersion', 1);
    this.cache.forget(id);
  }

  private async loadSnapshot(id: string): Promise<AdminUserSnapshot | undefined> {
    const user = await this.users.findOne({ where: { id } });
    return user
      ? { id: user.id, username: user.username, role: user.role, tokenVersion: user.tokenVersion }
      : undefined;
  }

  private async getIn(manager: EntityManager, id: string): Promise<AdminUserEntity> {
    const user = await manager.findOne(AdminUserEntity, { where: { id } });
    if (!user) throw new GatewayError('ADMIN_USER_NOT_FOUND', `Admin user ${id} not found`);
    return user;
  }

  /**
   * 409 `LAST_ADMIN` unless an admin other than `id` remains. On MySQL the admin rows are locked
   * until the transaction ends, so two admins demoting each other at once cannot both succeed.
   */
  private async assertAnotherAdmin(manager: EntityManager, id: string): Promise<void> {
    const admins = await manager.find(AdminUserEntity, {
      select: { id: true },
      where: { role: 'admin' },
      ...(this.dataSource.options.type === 'mysql' ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!admins.some((admin) => admin.id !== id)) {
      throw new GatewayError(
        'LAST_ADMIN',
        'The last admin can be neither deleted nor demoted; make another admin first',
      );
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

function taken(username: string): GatewayError {
  return new GatewayError('ADMIN_USERNAME_TAKEN', `An admin user named '${username}' already exists`, {
    details: [{ field: 'username', message: 'already taken' }],
  });
}

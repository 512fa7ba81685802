import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { GatewayError } from '../common/gateway-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DATABASE_MIGRATED } from '../database/database.module';
import { AdminUsersService } from './admin-users.service';
import { ApiKeysService } from './api-keys.service';
import { displayPrefix, hashApiKey } from './api-key-secrets';
import { PUBLICLY_KNOWN_API_KEYS } from './public-api-keys';
import { SettingsService } from './settings.service';
import { USERNAME_RULE, canonicalUsername, isSafeUsername } from './usernames';

const JWT_SECRET_SETTING = 'jwt_secret';

/**
 * Set once this database's bootstrap keys are tracked by {@link bootstrapKeySetting}. A database
 * that served a gateway without it (an older version) may have lost keys an admin deleted; those
 * keys are not seeded again.
 */
export const BOOTSTRAP_KEYS_TRACKED_SETTING = 'bootstrap_keys_tracked';

/**
 * The setting that remembers a bootstrap key was seeded once (by its hash, never the secret):
 * when the key is gone afterwards an admin deleted it, and it is not seeded again.
 */
export function bootstrapKeySetting(secret: string): string {
  return `bootstrap_key:${hashApiKey(secret)}`;
}

/**
 * Idempotent start-up seeding: the bootstrap API keys, the JWT secret and the first admin — a
 * bootstrap key or admin user an admin deleted stays deleted. Warns about what an operator must
 * fix: a publicly known key that still works, a `GATEWAY_ADMIN_PASSWORD` that is not the admin's
 * password or names a user that is gone (it only creates the first admin, on a database without
 * users; it is never applied to an existing one). Runs after the migrations; safe to run on every
 * start and on several nodes at once.
 */
@Injectable()
export class TenancyBootstrapService implements OnModuleInit {
  private readonly logger = new Logger('Bootstrap');
  private secret?: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_MIGRATED) private readonly _migrated: boolean,
    private readonly settings: SettingsService,
    private readonly admins: AdminUsersService,
    private readonly keys: ApiKeysService,
  ) {}

  async onModuleInit(): Promise<void> {
    // The keys come first: a node that finds the JWT secret or an admin knows the keys are tracked
    // (another node starting at the same moment on a new database is not taken for an upgrade).
    const untracked = await this.servedUntrackedBefore();
    for (const key of this.config.auth.bootstrapApiKeys) await this.seedBootstrapKey(key, untracked);
    await this.settings.getOrCreate(BOOTSTRAP_KEYS_TRACKED_SETTING, () => 'yes');
    this.secret =
      this.config.auth.jwtSecret ??
      (await this.settings.getOrCreate(JWT_SECRET_SETTING, () => randomBytes(48).toString('base64url')));
    await this.ensureAdmin();
    await this.warnAboutPublicKeys();
  }

  /** The secret admin JWTs are signed with. */
  jwtSecret(): string {
    if (!this.secret) throw new Error('JWT secret requested before bootstrap finished');
    return this.secret;
  }

  /**
   * Whether this database served a gateway that did not track its bootstrap keys (an older
   * version): it has an admin or a JWT secret, but not {@link BOOTSTRAP_KEYS_TRACKED_SETTING}.
   */
  private async servedUntrackedBefore(): Promise<boolean> {
    if ((await this.settings.get(BOOTSTRAP_KEYS_TRACKED_SETTING)) !== undefined) return false;
    return (await this.admins.count()) > 0 || (await this.settings.get(JWT_SECRET_SETTING)) !== undefined;
  }

  /**
   * Seeds a bootstrap key as UNUSED unless it was seeded before. A key that is gone was deleted
   * by an admin when its marker says it was seeded — or, on a database an older version served
   * (`untracked`), possibly so: an older version kept no marker, so the key is not seeded either.
   */
  private async seedBootstrapKey(key: string, untracked: boolean): Promise<void> {
    const setting = bootstrapKeySetting(key);
    if (await this.keys.findBySecret(key)) {
      // Seeded before this marker existed: remember it now, so a later deletion sticks.
      await this.settings.getOrCreate(setting, () => 'seeded');
      return;
    }
    if ((await this.settings.get(setting)) !== undefined) {
      this.logger.warn(
        `Bootstrap API key ${displayPrefix(key)}… was deleted by an admin and is not re-created; ` +
          'remove it from GATEWAY_BOOTSTRAP_API_KEYS',
      );
      return;
    }
    if (untracked) {
      await this.settings.getOrCreate(setting, () => 'absent at upgrade');
      this.logger.warn(
        `Bootstrap API key ${displayPrefix(key)}… is not in the database, which an earlier version of the ` +
          'gateway served without remembering its bootstrap keys: an admin may have deleted it, so it is not ' +
          're-created. Remove it from GATEWAY_BOOTSTRAP_API_KEYS; to give a client a key, issue one with ' +
          'POST /api/admin/apikeys',
      );
      return;
    }
    const seeded = await this.keys.seed(key, 'bootstrap key (GATEWAY_BOOTSTRAP_API_KEYS)');
    await this.settings.getOrCreate(setting, () => 'seeded');
    if (seeded) this.logger.log(`Seeded bootstrap API key ${displayPrefix(key)}… as UNUSED`);
  }

  /** One warning per publicly known key that can still authenticate or be bound. */
  private async warnAboutPublicKeys(): Promise<void> {
    for (const key of PUBLICLY_KNOWN_API_KEYS) {
      const stored = await this.keys.findBySecret(key);
      if (stored === null || (stored.status !== 'ACTIVE' && stored.status !== 'UNUSED')) continue;
      const state = stored.status === 'ACTIVE' ? `bound to project ${stored.projectId}` : 'UNUSED: anyone can bind it';
      this.logger.warn(
        `API key ${displayPrefix(key)}… (id ${stored.id}, ${state}) is publicly known — it is printed in ` +
          "AgentX's and this gateway's documentation: anyone can use it. Give the client a key of its own " +
          '(POST /api/admin/apikeys/{id}/rotate), revoke this one and remove it from GATEWAY_BOOTSTRAP_API_KEYS',
      );
    }
  }

  /**
   * Creates the first admin — `GATEWAY_ADMIN_USERNAME` with `GATEWAY_ADMIN_PASSWORD`, or a
   * generated password printed once — only on a database without any user. Once users exist the
   * environment never creates or changes one: a bootstrap admin that was deleted stays deleted
   * (otherwise whoever edits the environment would get an admin back at the next restart).
   */
  private async ensureAdmin(): Promise<void> {
    const { adminUsername, adminPassword } = this.config.auth;
    if (await this.admins.exists(adminUsername)) {
      await this.warnIfPasswordIgnored(adminUsername, adminPassword);
      return;
    }
    if ((await this.admins.count()) > 0) {
      if (adminPassword !== undefined) this.warnNamedAdminMissing(adminUsername);
      return;
    }
    if (!isSafeUsername(canonicalUsername(adminUsername))) {
      throw new Error(`GATEWAY_ADMIN_USERNAME: ${USERNAME_RULE}`);
    }
    if (adminPassword) {
      if (await this.createAdmin(adminUsername, adminPassword)) {
        this.logger.log(`Created admin user '${adminUsername}' from GATEWAY_ADMIN_PASSWORD`);
      }
      return;
    }
    const generated = randomBytes(18).toString('base64url');
    if (!(await this.createAdmin(adminUsername, generated))) return;
    // Printed once, as a plain banner on stderr — never through the logger, which may ship logs
    // elsewhere, and apart from the JSON log lines on stdout, where it would drown.
    process.stderr.write(firstAdminBanner(adminUsername, generated));
  }

  /** Creates the first admin; false when another node starting at the same moment created it first. */
  private async createAdmin(username: string, password: string): Promise<boolean> {
    try {
      await this.admins.create(username, password, 'admin');
      return true;
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'ADMIN_USERNAME_TAKEN') return false;
      throw error;
    }
  }

  /** `GATEWAY_ADMIN_PASSWORD` is set for a user that is gone (deleted by an admin): it is not re-created. */
  private warnNamedAdminMissing(username: string): void {
    this.logger.warn(
      `GATEWAY_ADMIN_PASSWORD is ignored: admin user '${username}' (GATEWAY_ADMIN_USERNAME) does not exist and ` +
        'is not created, because other users do — the environment only creates the first admin, on a database ' +
        'without users. Unset GATEWAY_ADMIN_PASSWORD; manage users with /api/admin/users',
    );
  }

  /**
   * `GATEWAY_ADMIN_PASSWORD` only sets the first admin's password; applied later it would let
   * whoever edits the environment take the account over silently. Say so when it differs.
   */
  private async warnIfPasswordIgnored(username: string, password: string | undefined): Promise<void> {
    if (password === undefined || (await this.admins.verify(username, password)) !== undefined) return;
    this.logger.warn(
      `GATEWAY_ADMIN_PASSWORD is not the password of admin user '${username}' and is ignored: it only sets ` +
        'the password when that user is created, on a database without users. To make it the password, run ' +
        '`npm run admin -- reset-password --from-env` (in a container: `node dist/cli/admin.js reset-password ' +
        '--from-env`), or change it with PUT /api/admin/auth/password; else unset GATEWAY_ADMIN_PASSWORD',
    );
  }
}

/**
 * The banner that shows a generated first-admin password once. Plain text framed by lines, so it
 * stands out among JSON log lines; it says how to get another one.
 */
export function firstAdminBanner(username: string, password: string): string {
  return [
    '',
    '================================================================',
    ' API-Premium Gateway: first start, admin user created',
    `   username: ${username}`,
    `   password: ${password}`,
    ' Store it now: it is not shown again. Lost it? Run',
    ' `npm run admin -- reset-password` (the gateway may keep running).',
    ' To choose it yourself next time, set GATEWAY_ADMIN_PASSWORD',
    ' before the first start.',
    '================================================================',
    '',
    '',
  ].join('\n');
}

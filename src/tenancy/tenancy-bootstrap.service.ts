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
 * The setting that remembers a bootstrap key was seeded once (by its hash, never the secret):
 * when the key is gone afterwards an admin deleted it, and it is not seeded again.
 */
export function bootstrapKeySetting(secret: string): string {
  return `bootstrap_key:${hashApiKey(secret)}`;
}

/**
 * Idempotent start-up seeding: the JWT secret, the first admin, and the bootstrap API keys — a
 * bootstrap key an admin deleted stays deleted. Warns about what an operator must fix: a
 * publicly known key that still works, a `GATEWAY_ADMIN_PASSWORD` that is not the admin's
 * password (it only sets the first admin's; it is never applied to an existing one). Runs after
 * the migrations; safe to run on every start and on several nodes at once.
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
    this.secret =
      this.config.auth.jwtSecret ??
      (await this.settings.getOrCreate(JWT_SECRET_SETTING, () => randomBytes(48).toString('base64url')));
    await this.ensureAdmin();
    for (const key of this.config.auth.bootstrapApiKeys) await this.seedBootstrapKey(key);
    await this.warnAboutPublicKeys();
  }

  /** The secret admin JWTs are signed with. */
  jwtSecret(): string {
    if (!this.secret) throw new Error('JWT secret requested before bootstrap finished');
    return this.secret;
  }

  private async seedBootstrapKey(key: string): Promise<void> {
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

  private async ensureAdmin(): Promise<void> {
    const { adminUsername, adminPassword } = this.config.auth;
    if (await this.admins.exists(adminUsername)) {
      await this.warnIfPasswordIgnored(adminUsername, adminPassword);
      return;
    }
    if (!adminPassword && (await this.admins.count()) > 0) return;
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
    // Printed once, on the console only (never through the logger, which may ship logs elsewhere).
    process.stdout.write(
      [
        '',
        '================================================================',
        ' API-Premium Gateway: first start, admin user created',
        `   username: ${adminUsername}`,
        `   password: ${generated}`,
        ' Store it now: it is not shown again. Set GATEWAY_ADMIN_PASSWORD',
        ' to choose it yourself.',
        '================================================================',
        '',
      ].join('\n'),
    );
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

  /**
   * `GATEWAY_ADMIN_PASSWORD` only sets the first admin's password; applied later it would let
   * whoever edits the environment take the account over silently. Say so when it differs.
   */
  private async warnIfPasswordIgnored(username: string, password: string | undefined): Promise<void> {
    if (password === undefined || (await this.admins.verify(username, password)) !== undefined) return;
    this.logger.warn(
      `GATEWAY_ADMIN_PASSWORD is not the password of admin user '${username}' and is ignored: it only sets ` +
        'the password when that user is created. Change the password with PUT /api/admin/auth/password ' +
        '(or an admin with PUT /api/admin/users/{id}), then update or unset GATEWAY_ADMIN_PASSWORD',
    );
  }
}

import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DATABASE_MIGRATED } from '../database/database.module';
import { AdminUsersService } from './admin-users.service';
import { ApiKeysService } from './api-keys.service';
import { displayPrefix } from './api-key-secrets';
import { SettingsService } from './settings.service';

const JWT_SECRET_SETTING = 'jwt_secret';

/**
 * Idempotent start-up seeding: the JWT secret, the first admin, and the bootstrap API keys.
 * Runs after the migrations; safe to run on every start and on several nodes at once.
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
    for (const key of this.config.auth.bootstrapApiKeys) {
      if (await this.keys.seed(key, 'bootstrap key (GATEWAY_BOOTSTRAP_API_KEYS)')) {
        this.logger.log(`Seeded bootstrap API key ${displayPrefix(key)}… as UNUSED`);
      }
    }
  }

  /** The secret admin JWTs are signed with. */
  jwtSecret(): string {
    if (!this.secret) throw new Error('JWT secret requested before bootstrap finished');
    return this.secret;
  }

  private async ensureAdmin(): Promise<void> {
    const { adminUsername, adminPassword } = this.config.auth;
    if (await this.admins.exists(adminUsername)) return;
    if (adminPassword) {
      await this.admins.create(adminUsername, adminPassword, 'admin');
      this.logger.log(`Created admin user '${adminUsername}' from GATEWAY_ADMIN_PASSWORD`);
      return;
    }
    if ((await this.admins.count()) > 0) return;
    const generated = randomBytes(18).toString('base64url');
    await this.admins.create(adminUsername, generated, 'admin');
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
}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '../database/database.module';
import { AdminUsersService } from './admin-users.service';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeysService } from './api-keys.service';
import { AdminUserEntity } from './entities/admin-user.entity';
import { ApiKeyEntity } from './entities/api-key.entity';
import { ProjectEntity } from './entities/project.entity';
import { SettingEntity } from './entities/setting.entity';
import { ProjectsService } from './projects.service';
import { SettingsService } from './settings.service';
import { TenancyBootstrapService } from './tenancy-bootstrap.service';

/** Projects, hashed API keys, admin users, and the in-memory authentication of keys (their HTTP API: tenancy-api/). */
@Module({
  imports: [DatabaseModule, TypeOrmModule.forFeature([ProjectEntity, ApiKeyEntity, AdminUserEntity, SettingEntity])],
  providers: [
    ProjectsService,
    ApiKeysService,
    AdminUsersService,
    SettingsService,
    ApiKeyAuthenticator,
    TenancyBootstrapService,
  ],
  exports: [ProjectsService, ApiKeysService, AdminUsersService, ApiKeyAuthenticator, TenancyBootstrapService],
})
export class TenancyModule {}

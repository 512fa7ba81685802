import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminApiKeysController } from './admin-api-keys.controller';
import { AdminProjectsController } from './admin-projects.controller';
import { AdminUsersController } from './admin-users.controller';
import { ProjectsController } from './projects.controller';

/**
 * The HTTP API of tenancy: projects (the [compat] key-bound creation, current project, settings),
 * their API keys, and admin users. Apart from tenancy/ because auth/ builds on tenancy/ and these controllers
 * build on auth/'s decorators.
 */
@Module({
  imports: [TenancyModule],
  controllers: [ProjectsController, AdminProjectsController, AdminApiKeysController, AdminUsersController],
})
export class TenancyApiModule {}

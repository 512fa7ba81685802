import { Body, Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import { IdParam } from '../common/id.param';
import { AdminUsersService } from '../tenancy/admin-users.service';
import { AdminUserDto, CreateAdminUserDto, UpdateAdminUserDto, toAdminUserDto } from '../tenancy/dto/admin-user.dto';

/**
 * Admin users. Viewers may list and read them; only admins change them. A user's tokens stop
 * working as soon as it is deleted, its role changes or its password is reset (within a second on
 * other nodes); the last admin can be neither deleted nor demoted.
 */
@ApiTags('admin: users')
@Authenticated({ admin: true })
@Enveloped()
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: AdminUsersService) {}

  /** Every admin user, by username. */
  @Get()
  @ApiEnvelope(AdminUserDto, { isArray: true })
  async list(): Promise<AdminUserDto[]> {
    return (await this.users.list()).map(toAdminUserDto);
  }

  @Get(':id')
  @ApiEnvelope(AdminUserDto)
  @ApiErrors('ADMIN_USER_NOT_FOUND')
  async get(@IdParam() id: string): Promise<AdminUserDto> {
    return toAdminUserDto(await this.users.get(id));
  }

  /** Creates a user; the username is stored in lower case and must be free (whatever its case). */
  @Post()
  @HttpCode(200)
  @ApiEnvelope(AdminUserDto)
  @ApiErrors('VALIDATION_FAILED', 'ADMIN_USERNAME_TAKEN')
  async create(@Body() body: CreateAdminUserDto): Promise<AdminUserDto> {
    return toAdminUserDto(await this.users.create(body.username, body.password, body.role));
  }

  /** Changes the role and/or resets the password; the user's tokens stop working. */
  @Put(':id')
  @ApiEnvelope(AdminUserDto)
  @ApiErrors('VALIDATION_FAILED', 'ADMIN_USER_NOT_FOUND', 'LAST_ADMIN')
  async update(@IdParam() id: string, @Body() body: UpdateAdminUserDto): Promise<AdminUserDto> {
    if (body.role === undefined && body.password === undefined) {
      throw new GatewayError('VALIDATION_FAILED', 'role or password is required', {
        details: [{ field: 'role', message: 'role or password is required' }],
      });
    }
    return toAdminUserDto(await this.users.update(id, body));
  }

  /** Deletes a user; its tokens stop working. */
  @Delete(':id')
  @ApiEnvelope()
  @ApiErrors('ADMIN_USER_NOT_FOUND', 'LAST_ADMIN')
  async delete(@IdParam() id: string): Promise<void> {
    await this.users.delete(id);
  }
}

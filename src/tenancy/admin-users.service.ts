import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { newId } from '../common/ids';
import { AdminUserEntity, type AdminRole } from './entities/admin-user.entity';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password-hasher';

@Injectable()
export class AdminUsersService {
  constructor(@InjectRepository(AdminUserEntity) private readonly users: Repository<AdminUserEntity>) {}

  /** The user when the password matches; undefined otherwise, in the same time either way. */
  async verify(username: string, password: string): Promise<AdminUserEntity | undefined> {
    const user = await this.users.findOne({ where: { username } });
    const matches = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
    return user && matches ? user : undefined;
  }

  count(): Promise<number> {
    return this.users.count();
  }

  exists(username: string): Promise<boolean> {
    return this.users.exists({ where: { username } });
  }

  async create(username: string, password: string, role: AdminRole): Promise<AdminUserEntity> {
    return this.users.save(
      this.users.create({ id: newId(), username, passwordHash: await hashPassword(password), role }),
    );
  }
}

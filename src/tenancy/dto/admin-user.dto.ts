import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { Omittable } from '../../common/validation';
import { ADMIN_ROLES, type AdminRole, type AdminUserEntity } from '../entities/admin-user.entity';
import { USERNAME_PATTERN, USERNAME_RULE, canonicalUsername } from '../usernames';

/** An admin user as listed: never the password hash. */
export class AdminUserDto {
  /** 32 lowercase hex characters. */
  id!: string;
  /** Canonical: lower case, e.g. `ops@example.com`. */
  username!: string;
  @ApiProperty({ enum: ADMIN_ROLES })
  role!: AdminRole;
  createdAt!: Date;
  updatedAt!: Date;
}

/** The answer for a user, field by field from the entity, so the password hash and token version never leave. */
export function toAdminUserDto(entity: AdminUserEntity): AdminUserDto {
  return {
    id: entity.id,
    username: entity.username,
    role: entity.role,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}

/** Trims, normalises (NFKC) and lower-cases a username before it is validated. */
const Canonical = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? canonicalUsername(value) : value));

export class CreateAdminUserDto {
  /** 1–64 characters of `a-z 0-9 . _ @ -`, starting with a letter or digit; stored in lower case. */
  @ApiProperty({ example: 'ops@example.com', pattern: USERNAME_PATTERN.source })
  @Canonical()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_RULE })
  username!: string;

  /** At least 8 characters. */
  @IsString() @Length(8, 256) password!: string;

  /** `admin` may change everything; `viewer` may only read (and change its own password). */
  @ApiProperty({ enum: ADMIN_ROLES })
  @IsIn(ADMIN_ROLES)
  role!: AdminRole;
}

/** A role change, a new password, or both; either stops every token the user holds. */
export class UpdateAdminUserDto {
  @ApiPropertyOptional({ enum: ADMIN_ROLES })
  @Omittable()
  @IsIn(ADMIN_ROLES)
  role?: AdminRole;

  /** At least 8 characters. */
  @Omittable() @IsString() @Length(8, 256) password?: string;
}

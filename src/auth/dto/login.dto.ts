import { IsString, Length } from 'class-validator';

export class LoginDto {
  /** Case, surrounding spaces and full-width forms are ignored (`ADMIN` is `admin`). */
  @IsString() @Length(1, 64) username!: string;

  @IsString() @Length(1, 256) password!: string;
}

export class AccessTokenDto {
  /** A JWT for `Authorization: Bearer …` on `/api/admin/**`. */
  accessToken!: string;
  tokenType!: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn!: number;
  role!: string;
}

/** A user's own password change: every token issued before it stops working. */
export class ChangePasswordDto {
  @IsString() @Length(1, 256) currentPassword!: string;

  /** At least 8 characters. */
  @IsString() @Length(8, 256) newPassword!: string;
}

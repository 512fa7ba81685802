import { Body, Controller, HttpCode, Ip, type OnModuleInit, Post, Put } from '@nestjs/common';
import { EarlyRefusals } from '../common/early-refusals';
import { ApiTags } from '@nestjs/swagger';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import { AdminUsersService } from '../tenancy/admin-users.service';
import type { AdminUserEntity } from '../tenancy/entities/admin-user.entity';
import type { Principal } from '../tenancy/principal';
import { AdminTokens } from './admin-tokens';
import { asAdmin, Authenticated, CurrentPrincipal, Public } from './auth.decorators';
import { AccessTokenDto, ChangePasswordDto, LoginDto } from './dto/login.dto';
import { LoginLimiter } from './login-limiter';
import { PasswordHashGate } from './password-hash-gate';

@ApiTags('admin: auth')
@Enveloped()
@Controller('admin/auth')
export class AdminAuthController implements OnModuleInit {
  constructor(
    private readonly users: AdminUsersService,
    private readonly tokens: AdminTokens,
    private readonly limiter: LoginLimiter,
    private readonly gate: PasswordHashGate,
    private readonly refusals: EarlyRefusals,
  ) {}

  /** While this second's password checks are spent, a login is refused before its body is read. */
  onModuleInit(): void {
    this.refusals.add('POST', '/api/admin/auth/login', () => this.gate.refusal());
  }

  /**
   * Exchanges admin credentials for a JWT. The username ignores case, surrounding spaces and
   * full-width forms. 5 failures per username and IP, or 20 per IP whatever the usernames, per 15
   * minutes, then 429; 429 too while too many logins are being checked at once. The attempt is
   * counted before its password is hashed (and given back on success), so simultaneous guesses
   * cannot exceed the counts.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiEnvelope(AccessTokenDto)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_CREDENTIALS', 'LOGIN_THROTTLED')
  async login(@Body() body: LoginDto, @Ip() ip: string): Promise<AccessTokenDto> {
    const attempt = this.limiter.reserve(body.username, ip);
    let user: AdminUserEntity | undefined;
    try {
      user = await this.gate.run(() => this.users.verify(body.username, body.password));
    } catch (error) {
      // Never judged (the hash queue was full, the database failed): not a guess.
      attempt.abandoned();
      throw error;
    }
    if (!user) {
      attempt.failed();
      throw new GatewayError('INVALID_CREDENTIALS', 'Wrong username or password');
    }
    attempt.succeeded();
    return this.tokens.issue(user);
  }

  /**
   * Changes the caller's own password (viewers too). Every token issued before stops working —
   * this one included — so the answer carries a new token. A wrong current password counts as a
   * failed login (reserved before the hash, as for the login).
   */
  @Authenticated({ admin: true, anyAdminRole: true })
  @Put('password')
  @ApiEnvelope(AccessTokenDto)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_CURRENT_PASSWORD', 'LOGIN_THROTTLED')
  async changePassword(
    @CurrentPrincipal() principal: Principal,
    @Body() body: ChangePasswordDto,
    @Ip() ip: string,
  ): Promise<AccessTokenDto> {
    const admin = asAdmin(principal);
    const attempt = this.limiter.reserve(admin.username, ip);
    try {
      const user = await this.gate.run(() =>
        this.users.changePassword(admin.userId, body.currentPassword, body.newPassword),
      );
      attempt.succeeded();
      return await this.tokens.issue(user);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'INVALID_CURRENT_PASSWORD') attempt.failed();
      else attempt.abandoned();
      throw error;
    }
  }

  /** Ends every session of the caller: all its tokens stop working (on every node within a second). */
  @Authenticated({ admin: true, anyAdminRole: true })
  @Post('logout')
  @HttpCode(200)
  @ApiEnvelope()
  async logout(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.users.revokeTokens(asAdmin(principal).userId);
  }
}

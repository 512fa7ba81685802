import { Body, Controller, HttpCode, Ip, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import { AdminUsersService } from '../tenancy/admin-users.service';
import type { Principal } from '../tenancy/principal';
import { AdminTokens } from './admin-tokens';
import { asAdmin, Authenticated, CurrentPrincipal, Public } from './auth.decorators';
import { AccessTokenDto, ChangePasswordDto, LoginDto } from './dto/login.dto';
import { LoginLimiter } from './login-limiter';
import { PasswordHashGate } from './password-hash-gate';

@ApiTags('admin: auth')
@Enveloped()
@Controller('admin/auth')
export class AdminAuthController {
  constructor(
    private readonly users: AdminUsersService,
    private readonly tokens: AdminTokens,
    private readonly limiter: LoginLimiter,
    private readonly gate: PasswordHashGate,
  ) {}

  /**
   * Exchanges admin credentials for a JWT. The username ignores case, surrounding spaces and
   * full-width forms. 5 failures per username and IP, or 20 per IP whatever the usernames, per 15
   * minutes, then 429; 429 too while too many logins are being checked at once.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiEnvelope(AccessTokenDto)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_CREDENTIALS', 'LOGIN_THROTTLED')
  async login(@Body() body: LoginDto, @Ip() ip: string): Promise<AccessTokenDto> {
    this.limiter.assertAllowed(body.username, ip);
    const user = await this.gate.run(() => this.users.verify(body.username, body.password));
    if (!user) {
      this.limiter.recordFailure(body.username, ip);
      throw new GatewayError('INVALID_CREDENTIALS', 'Wrong username or password');
    }
    this.limiter.recordSuccess(body.username, ip);
    return this.tokens.issue(user);
  }

  /**
   * Changes the caller's own password (viewers too). Every token issued before stops working —
   * this one included — so the answer carries a new token. A wrong current password counts as a
   * failed login.
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
    this.limiter.assertAllowed(admin.username, ip);
    try {
      const user = await this.gate.run(() =>
        this.users.changePassword(admin.userId, body.currentPassword, body.newPassword),
      );
      return await this.tokens.issue(user);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'INVALID_CURRENT_PASSWORD') {
        this.limiter.recordFailure(admin.username, ip);
      }
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

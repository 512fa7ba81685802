import { Body, Controller, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ApiTags } from '@nestjs/swagger';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AdminUsersService } from '../tenancy/admin-users.service';
import { TenancyBootstrapService } from '../tenancy/tenancy-bootstrap.service';
import { Public } from './auth.decorators';
import { AccessTokenDto, LoginDto } from './dto/login.dto';
import { LoginLimiter } from './login-limiter';
import { type AdminTokenPayload, JWT_ISSUER } from './strategies/jwt.strategy';

@ApiTags('admin: auth')
@Enveloped()
@Controller('admin/auth')
export class AdminAuthController {
  constructor(
    private readonly users: AdminUsersService,
    private readonly jwt: JwtService,
    private readonly bootstrap: TenancyBootstrapService,
    private readonly limiter: LoginLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Exchanges admin credentials for a JWT. 5 failures per username and IP per 15 minutes, then 429. */
  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiEnvelope(AccessTokenDto)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_CREDENTIALS', 'LOGIN_THROTTLED')
  async login(@Body() body: LoginDto, @Ip() ip: string): Promise<AccessTokenDto> {
    this.limiter.assertAllowed(body.username, ip);
    const user = await this.users.verify(body.username, body.password);
    if (!user) {
      this.limiter.recordFailure(body.username, ip);
      throw new GatewayError('INVALID_CREDENTIALS', 'Wrong username or password');
    }
    this.limiter.recordSuccess(body.username, ip);
    const payload: AdminTokenPayload = { sub: user.id, username: user.username, role: user.role };
    const expiresIn = this.config.auth.jwtTtlSeconds;
    const accessToken = await this.jwt.signAsync(payload, {
      secret: this.bootstrap.jwtSecret(),
      expiresIn,
      issuer: JWT_ISSUER,
      algorithm: 'HS256',
    });
    return { accessToken, tokenType: 'Bearer', expiresIn, role: user.role };
  }
}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminAuthController } from './admin-auth.controller';
import { AdminTokens } from './admin-tokens';
import { GatewayAuthGuard } from './gateway-auth.guard';
import { GatewayThrottlerGuard } from './gateway-throttler.guard';
import { LoginLimiter } from './login-limiter';
import { PasswordHashGate } from './password-hash-gate';
import { SlidingWindowThrottlerStorage } from './sliding-window-throttler.storage';
import { JwtStrategy } from './strategies/jwt.strategy';

/** Authentication (API keys, admin JWTs) and throttling, applied to every route. */
@Module({
  imports: [
    TenancyModule,
    PassportModule,
    JwtModule.register({}),
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock) => ({
        // GATEWAY_THROTTLE_PER_MINUTE=0 turns counting off: GatewayThrottlerGuard skips then.
        throttlers: [{ name: 'per-minute', ttl: 60_000, limit: config.auth.throttlePerMinute }],
        // Three headers on every answer cost the hot path more than the throttling itself (ADR 0008).
        setHeaders: config.auth.throttleHeaders,
        storage: new SlidingWindowThrottlerStorage(clock),
      }),
    }),
  ],
  controllers: [AdminAuthController],
  providers: [
    JwtStrategy,
    AdminTokens,
    LoginLimiter,
    {
      provide: PasswordHashGate,
      useFactory: (config: AppConfig, clock: Clock) =>
        new PasswordHashGate(undefined, undefined, {
          perSecond: config.auth.loginHashesPerSecond,
          now: () => clock.now(),
        }),
      inject: [APP_CONFIG, Clock],
    },
    // Order matters: authentication first, so throttling can count per API key. Both are also
    // providers of their own, so the hot path's routes (HotRoutes) run the very same instances.
    GatewayAuthGuard,
    GatewayThrottlerGuard,
    { provide: APP_GUARD, useExisting: GatewayAuthGuard },
    { provide: APP_GUARD, useExisting: GatewayThrottlerGuard },
  ],
  exports: [AdminTokens, GatewayAuthGuard, GatewayThrottlerGuard],
})
export class AuthModule {}

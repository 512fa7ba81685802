import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ADMIN_ROLES, type AdminRole } from '../../tenancy/entities/admin-user.entity';
import type { AdminPrincipal } from '../../tenancy/principal';
import { TenancyBootstrapService } from '../../tenancy/tenancy-bootstrap.service';

export interface AdminTokenPayload {
  readonly sub: string;
  readonly username: string;
  readonly role: AdminRole;
}

export const JWT_ISSUER = 'api-premium-gateway';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(bootstrap: TenancyBootstrapService) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Read per request: the secret is loaded (or generated) at bootstrap, after construction.
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: unknown, secret?: string) => void) =>
        done(null, bootstrap.jwtSecret()),
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      ignoreExpiration: false,
    });
  }

  validate(payload: AdminTokenPayload): AdminPrincipal | false {
    if (!payload.sub || !(ADMIN_ROLES as readonly string[]).includes(payload.role)) return false;
    return { kind: 'admin', userId: payload.sub, username: payload.username, role: payload.role };
  }
}

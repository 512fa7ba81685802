import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AdminPrincipal } from '../../tenancy/principal';
import { TenancyBootstrapService } from '../../tenancy/tenancy-bootstrap.service';
import { AdminTokens, JWT_ISSUER } from '../admin-tokens';

export { type AdminTokenPayload, JWT_ISSUER } from '../admin-tokens';

/**
 * Passport's `jwt` strategy: the signature, issuer and expiry are checked here, then the claims
 * against the user record ({@link AdminTokens.principalOf}).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    bootstrap: TenancyBootstrapService,
    private readonly tokens: AdminTokens,
  ) {
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

  async validate(payload: unknown): Promise<AdminPrincipal | false> {
    return (await this.tokens.principalOf(payload)) ?? false;
  }
}

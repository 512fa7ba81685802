import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { AdminUserSnapshot } from '../tenancy/admin-user-cache';
import { AdminUsersService } from '../tenancy/admin-users.service';
import type { AdminRole } from '../tenancy/entities/admin-user.entity';
import type { AdminPrincipal } from '../tenancy/principal';
import { TenancyBootstrapService } from '../tenancy/tenancy-bootstrap.service';

/**
 * The `iss` claim of every admin JWT, required when one is verified: a token signed with the same
 * secret for another purpose (or by another service sharing it) is not an admin token.
 */
export const JWT_ISSUER = 'api-premium-gateway';

/** The claims of an admin JWT. `role` and `username` are informative: the user record decides. */
export interface AdminTokenPayload {
  readonly sub: string;
  readonly username: string;
  readonly role: AdminRole;
  /** The user's token version when the token was issued; a different current one revokes it. */
  readonly ver: number;
}

/** What a login or a password change answers. */
export interface IssuedAdminToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds until the token expires. */
  readonly expiresIn: number;
  readonly role: AdminRole;
}

/**
 * Admin JWTs that follow the user record. A token is issued with the user's token version (`ver`);
 * on every request (through a cache of at most a second) the user must still exist and carry that
 * version, and the role is the record's, not the token's — so a deleted, demoted or logged-out
 * user's tokens stop within a second on every node. Tokens without `exp` are refused.
 */
@Injectable()
export class AdminTokens {
  constructor(
    private readonly jwt: JwtService,
    private readonly users: AdminUsersService,
    private readonly bootstrap: TenancyBootstrapService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(user: AdminUserSnapshot): Promise<IssuedAdminToken> {
    const payload: AdminTokenPayload = {
      sub: user.id,
      username: user.username,
      role: user.role,
      ver: user.tokenVersion,
    };
    const expiresIn = this.config.auth.jwtTtlSeconds;
    const accessToken = await this.jwt.signAsync(payload, {
      secret: this.bootstrap.jwtSecret(),
      expiresIn,
      issuer: JWT_ISSUER,
      algorithm: 'HS256',
    });
    return { accessToken, tokenType: 'Bearer', expiresIn, role: user.role };
  }

  /**
   * The principal of a token whose signature, issuer and expiry were verified, or undefined when
   * the claims do not match the user record now.
   */
  async principalOf(claims: unknown): Promise<AdminPrincipal | undefined> {
    if (!isAdminClaims(claims)) return undefined;
    const user = await this.users.snapshot(claims.sub);
    if (user === undefined || user.tokenVersion !== claims.ver) return undefined;
    return { kind: 'admin', userId: user.id, username: user.username, role: user.role };
  }

  /** Verifies a raw token (signature, issuer, expiry, then the record); undefined when it is not valid. */
  async verify(token: string): Promise<AdminPrincipal | undefined> {
    let claims: unknown;
    try {
      claims = await this.jwt.verifyAsync(token, {
        secret: this.bootstrap.jwtSecret(),
        issuer: JWT_ISSUER,
        algorithms: ['HS256'],
      });
    } catch {
      return undefined;
    }
    return this.principalOf(claims);
  }
}

function isAdminClaims(claims: unknown): claims is AdminTokenPayload & { exp: number } {
  if (typeof claims !== 'object' || claims === null) return false;
  const { sub, ver, exp } = claims as Record<string, unknown>;
  return (
    typeof sub === 'string' &&
    sub.length > 0 &&
    typeof ver === 'number' &&
    Number.isInteger(ver) &&
    typeof exp === 'number' &&
    Number.isFinite(exp)
  );
}

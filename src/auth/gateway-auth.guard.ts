import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { GatewayError } from '../common/gateway-error';
import { ApiKeyAuthenticator } from '../tenancy/api-key-authenticator';
import type { AdminPrincipal, ProjectPrincipal } from '../tenancy/principal';
import { AUTH_OPTIONS, type AuthenticatedOptions, PUBLIC_ROUTE } from './auth.decorators';

/** Passport's api-key strategy; its errors are already GatewayErrors with the right code. */
class ApiKeyPassportGuard extends AuthGuard('api-key') {
  override handleRequest<T>(error: unknown, principal: T): T {
    if (error instanceof Error) throw error;
    if (!principal) throw new GatewayError('INVALID_API_KEY', 'Invalid API key');
    return principal;
  }
}

/** Passport's jwt strategy, with its failures mapped to stable codes. */
class JwtPassportGuard extends AuthGuard('jwt') {
  override handleRequest<T>(error: unknown, principal: T, info: unknown): T {
    if (error instanceof Error) throw error;
    if (principal) return principal;
    const message = info instanceof Error ? info.message : '';
    if (/no auth token/i.test(message)) {
      throw new GatewayError('ADMIN_TOKEN_MISSING', 'An admin token is required (Authorization: Bearer <jwt>)');
    }
    throw new GatewayError('INVALID_ADMIN_TOKEN', 'The admin token is invalid or expired');
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);

type RouteAuth = 'public' | AuthenticatedOptions | undefined;

/**
 * The one global guard: `@Public()` routes pass; `@Authenticated()` ones need a project API key
 * (with the scopes asked for) or, with `admin: true`, an admin JWT — and a viewer admin may only
 * read. Routes with neither decorator are refused: nothing is open by accident.
 */
@Injectable()
export class GatewayAuthGuard implements CanActivate {
  private readonly apiKey = new ApiKeyPassportGuard();
  private readonly jwt = new JwtPassportGuard();
  /** Per handler: metadata never changes after start-up, and reading it walks prototype chains. */
  private readonly routes = new WeakMap<object, RouteAuth>();

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.routeAuth(context);
    if (options === 'public') return true;
    if (!options) throw new GatewayError('INTERNAL_ERROR', 'Route is neither @Public() nor @Authenticated()');
    const request = context.switchToHttp().getRequest<{ method: string; user?: unknown }>();
    if (options.admin) {
      await this.jwt.canActivate(context);
      const admin = request.user as AdminPrincipal;
      if (admin.role !== 'admin' && !READ_METHODS.has(request.method)) {
        throw new GatewayError('ADMIN_ROLE_REQUIRED', 'This admin account may only read');
      }
      return true;
    }
    await this.apiKey.canActivate(context);
    const project = request.user as ProjectPrincipal;
    for (const scope of options.scopes ?? []) this.authenticator.requireScope(project, scope);
    return true;
  }

  private routeAuth(context: ExecutionContext): RouteAuth {
    const handler = context.getHandler();
    if (this.routes.has(handler)) return this.routes.get(handler);
    const targets = [handler, context.getClass()];
    const auth: RouteAuth = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)
      ? 'public'
      : this.reflector.getAllAndOverride<AuthenticatedOptions | undefined>(AUTH_OPTIONS, targets);
    this.routes.set(handler, auth);
    return auth;
  }
}

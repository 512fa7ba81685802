import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../common/gateway-error';
import { ApiKeyAuthenticator, type KeyHashMemo, newKeyHashMemo } from '../tenancy/api-key-authenticator';
import { requireApiKey } from './api-key-extraction';
import type { AdminPrincipal, ProjectPrincipal } from '../tenancy/principal';
import { AUTH_OPTIONS, type AuthenticatedOptions, PUBLIC_ROUTE } from './auth.decorators';

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

/** Where a connection keeps its {@link KeyHashMemo}. */
const KEY_MEMO = Symbol('gateway:api-key-memo');
type MemoSocket = { [KEY_MEMO]?: KeyHashMemo };

/**
 * The connection's memo of its last keys' hashes: a keep-alive connection sends the same key (or
 * a few) on every request, so each key is hashed once per connection, by the guard or an early refusal.
 */
export function keyMemoOf(request: FastifyRequest): KeyHashMemo | undefined {
  const socket = request.raw.socket as unknown as MemoSocket | null;
  return socket ? (socket[KEY_MEMO] ??= newKeyHashMemo()) : undefined;
}

export type RouteAuth = 'public' | AuthenticatedOptions | undefined;

/**
 * The one global guard: `@Public()` routes pass; `@Authenticated()` ones need a project API key
 * (with the scopes asked for) or, with `admin: true`, an admin JWT — and a viewer admin may only
 * read (except on `anyAdminRole` routes: its own password and logout). The JWT's user must still
 * exist with the token's version, and its role is the record's (`AdminTokens`). Routes with
 * neither decorator are refused: nothing is open by accident.
 *
 * Admin JWTs go through Passport (`passport-jwt`). API keys — every select and report — are
 * checked directly against the in-memory {@link ApiKeyAuthenticator}: Passport's per-request
 * middleware chain cost ~5 KB of garbage and a few µs on the hot path for a lookup (ADR 0008).
 */
@Injectable()
export class GatewayAuthGuard implements CanActivate {
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
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: unknown }>();
    if (options.admin) {
      await this.jwt.canActivate(context);
      const admin = request.user as AdminPrincipal;
      if (admin.role !== 'admin' && !options.anyAdminRole && !READ_METHODS.has(request.method)) {
        throw new GatewayError('ADMIN_ROLE_REQUIRED', 'This admin account may only read');
      }
      return true;
    }
    await this.authenticateProject(request, options);
    return true;
  }

  /**
   * An API-key route's check: the key's project (put on `request.user`) with the scopes asked
   * for, or a GatewayError. Without a promise when the key is cached, for the hot path's routes
   * that Fastify serves directly (HotRoutes).
   */
  authenticateProject(
    request: FastifyRequest & { user?: unknown },
    options: AuthenticatedOptions,
  ): ProjectPrincipal | Promise<ProjectPrincipal> {
    const found = this.authenticator.authenticateNow(requireApiKey(request), keyMemoOf(request));
    if (found instanceof Promise) return found.then((project) => this.admitProject(request, options, project));
    return this.admitProject(request, options, found);
  }

  /** Puts the project on the request, then requires every scope the route asks for. */
  private admitProject(
    request: { user?: unknown },
    options: AuthenticatedOptions,
    project: ProjectPrincipal,
  ): ProjectPrincipal {
    request.user = project;
    for (const scope of options.scopes ?? []) this.authenticator.requireScope(project, scope);
    return project;
  }

  private routeAuth(context: ExecutionContext): RouteAuth {
    return this.routeAuthOf(context.getHandler(), context.getClass());
  }

  /** What a route asks for: `public`, its `@Authenticated` options (the handler's over its class's), or undefined. */
  routeAuthOf(handler: object, controller: object): RouteAuth {
    if (this.routes.has(handler)) return this.routes.get(handler);
    const targets = [handler as () => void, controller as () => void];
    const auth: RouteAuth = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)
      ? 'public'
      : this.reflector.getAllAndOverride<AuthenticatedOptions | undefined>(AUTH_OPTIONS, targets);
    this.routes.set(handler, auth);
    return auth;
  }
}

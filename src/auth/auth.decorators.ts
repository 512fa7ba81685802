import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-envelope.decorator';
import { GatewayError } from '../common/gateway-error';
import type { ApiKeyScope } from '../tenancy/entities/api-key.entity';
import type { AdminPrincipal, Principal, ProjectPrincipal } from '../tenancy/principal';

export const PUBLIC_ROUTE = 'gateway:public';
export const AUTH_OPTIONS = 'gateway:auth';

export interface AuthenticatedOptions {
  /** Admin JWT instead of a project API key. Viewers may use GET routes only. */
  readonly admin?: boolean;
  /** With `admin`: viewers may call it whatever the method (their own account: password, logout). */
  readonly anyAdminRole?: boolean;
  /** Scopes the project key must hold (keys without scopes hold all of them). */
  readonly scopes?: readonly ApiKeyScope[];
}

/**
 * A route anyone may call. Every route is either `@Public()` or `@Authenticated()` (a test walks
 * all routes to prove it).
 *
 * @example
 * @Public() @Get() status() { … }
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * A route for a project API key (default) or an admin JWT; also documents the security scheme
 * and the 401/403 answers in OpenAPI, so the docs cannot drift from what the guard does.
 *
 * @example
 * @Authenticated({ scopes: ['select'] })
 * @Get('projects/current') current(@CurrentPrincipal() principal: Principal) { … }
 *
 * @Authenticated({ admin: true })
 * @Controller('admin/projects') export class AdminProjectsController { … }
 */
export function Authenticated(options: AuthenticatedOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(AUTH_OPTIONS, options),
    ...(options.admin
      ? [
          ApiBearerAuth('admin-jwt'),
          // A route open to every admin role never answers ADMIN_ROLE_REQUIRED.
          options.anyAdminRole
            ? ApiErrors('ADMIN_TOKEN_MISSING', 'INVALID_ADMIN_TOKEN')
            : ApiErrors('ADMIN_TOKEN_MISSING', 'INVALID_ADMIN_TOKEN', 'ADMIN_ROLE_REQUIRED'),
        ]
      : [
          ApiSecurity('api-key'),
          ApiErrors(
            'API_KEY_MISSING',
            'INVALID_API_KEY',
            'API_KEY_REVOKED',
            'API_KEY_EXPIRED',
            'API_KEY_NOT_BOUND',
            'PROJECT_INACTIVE',
            'INSUFFICIENT_SCOPE',
            'THROTTLED',
          ),
        ]),
  );
}

/**
 * The authenticated caller. On project routes it is the project principal, on admin routes the
 * admin one.
 *
 * @example
 * current(@CurrentPrincipal() project: ProjectPrincipal) { return this.projects.get(project.projectId); }
 */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal =>
  principalOf(context.switchToHttp().getRequest()),
);

/** What {@link CurrentPrincipal} injects, read from the request (the hot-path routes take `@Req()`). */
export function principalOf(request: { user?: Principal }): Principal {
  const principal = request.user;
  if (!principal) throw new GatewayError('INTERNAL_ERROR', 'No principal on an authenticated route');
  return principal;
}

/**
 * The calling project, on routes for project API keys (an admin token there is refused).
 *
 * @example
 * current(@CurrentProject() project: ProjectPrincipal) { return this.projects.get(project.projectId); }
 */
export const CurrentProject = createParamDecorator((_data: unknown, context: ExecutionContext): ProjectPrincipal =>
  projectOf(context.switchToHttp().getRequest()),
);

/** What {@link CurrentProject} injects, read from the request (the hot-path routes take `@Req()`). */
export function projectOf(request: { user?: Principal }): ProjectPrincipal {
  return asProject(principalOf(request));
}

function asProject(principal: Principal): ProjectPrincipal {
  if (principal.kind !== 'project') throw new GatewayError('INVALID_API_KEY', 'A project API key is required');
  return principal;
}

export function asAdmin(principal: Principal): AdminPrincipal {
  if (principal.kind !== 'admin') throw new GatewayError('INVALID_ADMIN_TOKEN', 'An admin token is required');
  return principal;
}

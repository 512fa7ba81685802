import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AUTH_OPTIONS, PUBLIC_ROUTE } from '../src/auth/auth.decorators';
import { buildOpenApiDocument } from '../src/common/swagger';
import { createTestApp, type TestApp } from './utils/test-app';

interface Route {
  readonly name: string;
  readonly method: string;
  readonly isPublic: boolean;
  readonly auth?: { admin?: boolean };
}

/** Every route handler of the app, found the way Nest finds them: by metadata. */
function walkRoutes(gateway: TestApp): Route[] {
  const discovery = gateway.app.get(DiscoveryService);
  const scanner = gateway.app.get(MetadataScanner);
  const reflector = gateway.app.get(Reflector);
  return discovery.getControllers().flatMap((wrapper) => {
    const instance = wrapper.instance as Record<string, unknown>;
    const prototype = Object.getPrototypeOf(instance) as object;
    return scanner.getAllMethodNames(prototype).flatMap((methodName) => {
      const handler = (prototype as Record<string, unknown>)[methodName] as () => unknown;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) return [];
      const targets = [handler, wrapper.metatype as () => unknown];
      return [
        {
          name: `${wrapper.name}.${methodName}`,
          method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod],
          isPublic: reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) === true,
          auth: reflector.getAllAndOverride<{ admin?: boolean } | undefined>(AUTH_OPTIONS, targets),
        },
      ];
    });
  });
}

describe('route walker', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({ extra: { imports: [DiscoveryModule] } });
  });
  afterAll(() => gateway.close());

  it('finds the routes', () => {
    expect(walkRoutes(gateway).length).toBeGreaterThan(15);
  });

  it('every route is @Public() or @Authenticated(), never both', () => {
    const offenders = walkRoutes(gateway).filter((route) => route.isPublic === (route.auth !== undefined));
    expect(offenders.map((route) => route.name)).toEqual([]);
  });

  it('the only public routes are health, login and the [compat] project creation', () => {
    const publicRoutes = walkRoutes(gateway)
      .filter((route) => route.isPublic)
      .map((route) => route.name)
      .sort();
    expect(publicRoutes).toEqual([
      'AdminAuthController.login',
      'HealthController.live',
      'HealthController.ready',
      'HealthController.status',
      'ProjectsController.create',
      'PrometheusController.scrape',
    ]);
  });

  it('OpenAPI documents the security of every authenticated operation, and none on public ones', () => {
    const document = buildOpenApiDocument(gateway.app);
    const problems: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, { security?: unknown[] }>)) {
        const isPublic =
          path.startsWith('/api/health') ||
          path === '/api/admin/auth/login' ||
          (path === '/api/projects' && method === 'post');
        const secured = (operation.security?.length ?? 0) > 0;
        if (secured === isPublic) problems.push(`${method.toUpperCase()} ${path}`);
        if (path.startsWith('/api/admin/') && !isPublic && !JSON.stringify(operation.security).includes('admin-jwt')) {
          problems.push(`${method.toUpperCase()} ${path} lacks admin-jwt`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

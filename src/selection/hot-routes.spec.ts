import type { RouteOptions } from 'fastify';
import type { GatewayAuthGuard, RouteAuth } from '../auth/gateway-auth.guard';
import type { GatewayThrottlerGuard } from '../auth/gateway-throttler.guard';
import { SystemClock } from '../common/clock';
import { GatewayController } from './gateway.controller';
import { HotRoutes, SELECT_ANSWER_SCHEMA } from './hot-routes';

function hotRoutes(auth: RouteAuth): HotRoutes {
  const guard = { routeAuthOf: () => auth } as unknown as GatewayAuthGuard;
  return new HotRoutes({} as GatewayController, guard, {} as GatewayThrottlerGuard, new SystemClock());
}

const nestHandler = (): void => undefined;
const route = (url: string, method = 'POST'): RouteOptions => ({ method, url, handler: nestHandler });

describe('HotRoutes.adopt', () => {
  it("takes over the three hot routes' handlers, and select's answer schema; leaves every other route to Nest", () => {
    const hot = hotRoutes({ scopes: ['select'] });
    for (const url of ['/api/gateway/select-instance', '/api/gateway/report-result', '/api/gateway/report-results']) {
      const adopted = route(url);
      hot.adopt(adopted);
      expect(adopted.handler).not.toBe(nestHandler);
    }
    const select = route('/api/gateway/select-instance');
    hot.adopt(select);
    expect(select.schema?.response).toEqual({ 200: SELECT_ANSWER_SCHEMA });
    for (const other of [route('/api/projects/current', 'GET'), route('/api/gateway/select-instance', 'GET')]) {
      hot.adopt(other);
      expect(other.handler).toBe(nestHandler);
    }
  });

  it.each([['public'], [undefined], [{ admin: true }]] as [RouteAuth][])(
    'refuses to start when a hot route is not an API-key route (%j)',
    (auth) => {
      expect(() => hotRoutes(auth).adopt(route('/api/gateway/report-result'))).toThrow(/project API key/);
    },
  );

  it('refuses to start when a hot route carries throttler metadata it would not read', () => {
    const select = Object.getOwnPropertyDescriptor(GatewayController.prototype, 'select')?.value as object;
    Reflect.defineMetadata('THROTTLER:LIMITper-minute', 5, select);
    try {
      expect(() => hotRoutes({ scopes: ['select'] }).adopt(route('/api/gateway/select-instance'))).toThrow(/@Throttle/);
    } finally {
      Reflect.deleteMetadata('THROTTLER:LIMITper-minute', select);
    }
  });
});

import { GatewayAuthGuard } from '../src/auth/gateway-auth.guard';
import { adminToken, createProject } from './utils/fixtures';
import { createTestApp, type TestApp } from './utils/test-app';

/** A select-instance body (served by Fastify directly: HotRoutes) for an identifier nothing is registered for. */
const SELECT = { apiIdentifier: 'nothing-registered', apiType: 'MODEL' };
/** select-instance with `key`: 400 NO_AVAILABLE_INSTANCE unless refused. */
const selectWith = (gateway: TestApp, key: string) =>
  gateway.http().post('/api/gateway/select-instance').set('api-key', key).send(SELECT);
const REPORT = { instanceId: 'f'.repeat(32), businessId: 'b', success: true, latencyMs: 1, callTimestamp: 1 };

describe('throttling of the gateway API', () => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_THROTTLE_PER_MINUTE: '3' } });
  });
  afterAll(() => gateway.close());

  it('counts per API key and answers 429 THROTTLED with Retry-After in the envelope', async () => {
    const a = await createProject(gateway, 'Throttled A');
    const b = await createProject(gateway, 'Throttled B');
    const get = (key: string) => gateway.http().get('/api/projects/current').set('api-key', key);
    for (let i = 0; i < 3; i += 1) await get(a.apiKey).expect(200);
    const res = await get(a.apiKey).expect(429);
    expect(res.body).toMatchObject({ code: 429, error: 'THROTTLED', details: { retryAfterMs: expect.any(Number) } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    await get(b.apiKey).expect(200);

    // Two minutes later both windows have rolled: the budget is back.
    gateway.clock.advance(120_000);
    await get(a.apiKey).expect(200);
  });

  it('counts the hot path (served by Fastify directly) in the same budget, with the same 429', async () => {
    const c = await createProject(gateway, 'Throttled C');
    const nestGuard = jest.spyOn(GatewayAuthGuard.prototype, 'canActivate');
    const post = (path: string, body: object) => gateway.http().post(path).set('api-key', c.apiKey).send(body);
    // Not throttled: answered by the route (nothing registered: 400 [compat]; an unknown instance).
    await post('/api/gateway/select-instance', SELECT).expect(400);
    await post('/api/gateway/report-result', REPORT).expect(404);
    expect(nestGuard).not.toHaveBeenCalled();
    await gateway.http().get('/api/projects/current').set('api-key', c.apiKey).expect(200);
    expect(nestGuard).toHaveBeenCalledTimes(1);
    nestGuard.mockRestore();
    const refused = await post('/api/gateway/select-instance', SELECT).expect(429);
    expect(refused.body).toMatchObject({
      code: 429,
      error: 'THROTTLED',
      details: { retryAfterMs: expect.any(Number) },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-request-id']).toBe(refused.body.requestId);
    await post('/api/gateway/report-results', { results: [REPORT] }).expect(429);
    await gateway.http().get('/api/projects/current').set('api-key', c.apiKey).expect(429);
    // Authentication comes first on the hot path too: a key of this project without the select
    // scope is refused for its scope, not for the spent budget it shares.
    const reportOnly = await gateway
      .http()
      .post(`/api/admin/projects/${c.id}/apikeys`)
      .set('authorization', `Bearer ${await adminToken(gateway)}`)
      .send({ scopes: ['report'] })
      .expect(200);
    for (let i = 0; i < 4; i++) {
      await post('/api/gateway/report-result', REPORT)
        .set('api-key', reportOnly.body.data.apiKeyValue as string)
        .expect((res) => expect(res.status).not.toBe(403));
    }
    const scoped = await selectWith(gateway, reportOnly.body.data.apiKeyValue as string).expect(403);
    expect(scoped.body.error).toBe('INSUFFICIENT_SCOPE');
    // A bad key is a 401 (authentication first).
    const bad = await selectWith(gateway, 'gw_not-a-key').expect(401);
    expect(bad.body).toMatchObject({ error: 'INVALID_API_KEY' });
  });
});

describe('throttling turned off', () => {
  it('lets everything through with GATEWAY_THROTTLE_PER_MINUTE=0: nothing is counted at all', async () => {
    // With the headers on, a counted request would say so (a large limit would still count).
    const gateway = await createTestApp({
      env: { GATEWAY_THROTTLE_PER_MINUTE: '0', GATEWAY_THROTTLE_HEADERS: 'true' },
    });
    try {
      expect(gateway.config.auth.throttlePerMinute).toBe(0);
      const project = await createProject(gateway, 'Unthrottled');
      for (let i = 0; i < 20; i += 1) {
        const res = await gateway.http().get('/api/projects/current').set('api-key', project.apiKey).expect(200);
        expect(Object.keys(res.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
        const selected = await selectWith(gateway, project.apiKey).expect(400);
        expect(Object.keys(selected.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
      }
    } finally {
      await gateway.close();
    }
  });
});

describe('rate-limit headers', () => {
  it('are sent on every answer only with GATEWAY_THROTTLE_HEADERS=true', async () => {
    const gateway = await createTestApp({
      env: { GATEWAY_THROTTLE_PER_MINUTE: '5', GATEWAY_THROTTLE_HEADERS: 'true' },
    });
    try {
      const project = await createProject(gateway, 'Counted');
      const res = await gateway.http().get('/api/projects/current').set('api-key', project.apiKey).expect(200);
      expect(res.headers['x-ratelimit-limit-per-minute']).toBe('5');
      expect(res.headers['x-ratelimit-remaining-per-minute']).toBe('4');
      const selected = await selectWith(gateway, project.apiKey).expect(400);
      expect(selected.headers['x-ratelimit-limit-per-minute']).toBe('5');
      expect(selected.headers['x-ratelimit-remaining-per-minute']).toBe('3');
      expect(Number(selected.headers['x-ratelimit-reset-per-minute'])).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });
});

import { createProject } from './utils/fixtures';
import { createTestApp, type TestApp } from './utils/test-app';

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
    } finally {
      await gateway.close();
    }
  });
});

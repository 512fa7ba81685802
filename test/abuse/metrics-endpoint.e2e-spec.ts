import { __resetOutOfContextForTests as resetPinoLogger } from 'nestjs-pino/PinoLogger';
import { DataSource } from 'typeorm';
import { GatewayMetrics } from '../../src/prometheus/gateway-metrics';
import { AdminUsersService } from '../../src/tenancy/admin-users.service';
import { adminToken, createProject, viewerToken } from '../utils/fixtures';
import { modelInstance, registerInstances } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15, finding 6: `/metrics` listed every tenant's project and instance ids to anyone, and
 * each anonymous scrape rendered the whole registry (686 KB at 5000 instances), so a few scrape
 * loops starved the tenants. Secure by default; one render a second whoever asks.
 */

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('abuse: /metrics is closed by default', () => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp();
    const project = await createProject(gateway, 'Scraped');
    await registerInstances(gateway, project, [modelInstance('a'), modelInstance('b')]);
  });
  afterAll(() => gateway.close());

  it('answers 401 METRICS_TOKEN_MISSING without credentials, and lists no tenant id', async () => {
    const res = await gateway.http().get('/metrics').expect(401);
    expect(res.body).toMatchObject({ code: 401, error: 'METRICS_TOKEN_MISSING' });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(res.text).not.toContain('instance_id');
  });

  it('answers 401 INVALID_METRICS_TOKEN for a bearer token when none is configured', async () => {
    const res = await gateway.http().get('/metrics').set('authorization', 'Bearer guessed-token-123').expect(401);
    expect(res.body).toMatchObject({ code: 401, error: 'INVALID_METRICS_TOKEN' });
  });

  it('opens to an admin JWT, and to a viewer JWT', async () => {
    const admin = await adminToken(gateway);
    const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${admin}`).expect(200);
    expect(res.text).toContain('# TYPE gateway_breaker_state gauge');
    const viewer = await viewerToken(gateway);
    await gateway.http().get('/metrics').set('authorization', `Bearer ${viewer}`).expect(200);
  });

  it('stops opening to a JWT within a second of its admin being deleted (on any node)', async () => {
    const users = gateway.app.get(AdminUsersService);
    const gone = await users.create('metrics-reader', 'metrics-reader-password', 'viewer');
    const login = await gateway
      .http()
      .post('/api/admin/auth/login')
      .send({ username: 'metrics-reader', password: 'metrics-reader-password' })
      .expect(200);
    const token = login.body.data.accessToken as string;
    await gateway.http().get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
    await gateway.app.get(DataSource).query('DELETE FROM admin_users WHERE id = ?', [gone.id]);
    gateway.clock.advance(1000);
    const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${token}`).expect(401);
    expect(res.body.error).toBe('INVALID_METRICS_TOKEN');
  });
});

describe('abuse: /metrics with GATEWAY_METRICS_TOKEN', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });
  });
  afterAll(() => gateway.close());

  it('opens to the token and to an admin JWT, not to a wrong token', async () => {
    await gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    const admin = await adminToken(gateway);
    await gateway.http().get('/metrics').set('authorization', `Bearer ${admin}`).expect(200);
    const wrong = await gateway
      .http()
      .get('/metrics')
      .set('authorization', `Bearer ${METRICS_TOKEN.replace(/.$/, 'x')}`)
      .expect(401);
    expect(wrong.body.error).toBe('INVALID_METRICS_TOKEN');
  });
});

describe('abuse: GATEWAY_METRICS_PUBLIC=true', () => {
  const capture = new LogCapture();
  let gateway: TestApp;
  beforeAll(async () => {
    // nestjs-pino keeps the first app's logger for the whole file; this app logs into its own capture.
    resetPinoLogger();
    gateway = await createTestApp({
      env: { GATEWAY_METRICS_PUBLIC: 'true', LOG_LEVEL: 'warn' },
      logDestination: capture,
    });
  });
  afterAll(() => gateway.close());

  it('serves /metrics without credentials, and says so at start-up', async () => {
    await gateway.http().get('/metrics').expect(200);
    const warnings = capture.lines('GATEWAY_METRICS_PUBLIC');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].level).toBe(40);
  });
});

describe('abuse: scrape cost is bounded', () => {
  let gateway: TestApp;
  let renders: jest.SpyInstance;
  const scrape = () => gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`);

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });
    renders = jest.spyOn(gateway.app.get(GatewayMetrics), 'metrics');
  });
  afterAll(() => gateway.close());
  beforeEach(() => renders.mockClear());

  it('an anonymous scrape renders nothing', async () => {
    for (let i = 0; i < 10; i += 1) await gateway.http().get('/metrics').expect(401);
    expect(renders).not.toHaveBeenCalled();
  });

  it('10 concurrent scrapes and a scrape loop within one second share one render', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => scrape()));
    expect(answers.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((res) => res.text)).size).toBe(1);
    for (let i = 0; i < 9; i += 1) {
      gateway.clock.advance(100);
      await scrape().expect(200);
    }
    expect(renders).toHaveBeenCalledTimes(1);
  });

  it('answers 10 authorised scrapes a second, then 429 THROTTLED; anonymous requests use none of them', async () => {
    gateway.clock.advance(10_000);
    for (let i = 0; i < 50; i += 1) await gateway.http().get('/metrics').expect(401);
    for (let i = 0; i < 10; i += 1) await scrape().expect(200);
    const refused = await scrape().expect(429);
    expect(refused.body).toMatchObject({ code: 429, error: 'THROTTLED', details: { retryAfterMs: 100 } });
    expect(refused.headers['retry-after']).toBe('1');
    gateway.clock.advance(100);
    await scrape().expect(200);
  });

  it('renders again once the second is over', async () => {
    gateway.clock.advance(1000);
    await scrape().expect(200);
    gateway.clock.advance(999);
    await scrape().expect(200);
    expect(renders).toHaveBeenCalledTimes(1);
    gateway.clock.advance(1);
    await scrape().expect(200);
    expect(renders).toHaveBeenCalledTimes(2);
  });
});

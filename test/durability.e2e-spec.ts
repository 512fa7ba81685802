import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN } from './utils/test-app';
import { listeningUrl, startGateway } from './utils/gateway-process';
import { describeEachDatabase } from './utils/test-database';

const KEY = 'durability-test-key-0123456789';
const REPORTS = 50_000;
const BATCH = 1000;
const SINGLES = 5000;

async function call(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
) {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown } };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/**
 * Nothing acknowledged is lost (docs/architecture.md, Lifecycle): 50,000 reports sent
 * concurrently to a real gateway process, SIGTERM, restart on the same database, and the durable
 * minute metrics hold exactly what was acknowledged. The flush timer is set to a minute so that
 * only the shutdown flush can have written them.
 */
describeEachDatabase('durability of minute metrics', (database) => {
  const dir = mkdtempSync(join(tmpdir(), 'durability-'));
  let env: Record<string, string>;

  beforeAll(async () => {
    env =
      database.name === 'sqlite'
        ? { DATABASE_URL: '', GATEWAY_SQLITE_PATH: join(dir, 'gateway.sqlite') }
        : await database.prepare();
  });
  const afterAllKills: (() => void)[] = [];
  afterAll(async () => {
    for (const kill of afterAllKills) kill();
    if (database.name === 'mysql') await database.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('50,000 concurrent reports, SIGTERM, restart: the totals equal what was acknowledged', async () => {
    const processEnv = {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      GATEWAY_ADMIN_USERNAME: TEST_ADMIN.username,
      GATEWAY_ADMIN_PASSWORD: TEST_ADMIN.password,
      GATEWAY_BOOTSTRAP_API_KEYS: KEY,
      GATEWAY_METRICS_FLUSH_MS: '60000',
      GATEWAY_THROTTLE_PER_MINUTE: '0',
    };
    const first = startGateway(processEnv);
    // A failed assertion must not leave the process running (it would keep Jest alive).
    const killFirst = () => first.child.exitCode === null && first.child.kill('SIGKILL');
    afterAllKills.push(killFirst);
    const url = await listeningUrl(first);
    const headers = { 'api-key': KEY };
    expect((await call(url, '/api/projects', { body: { name: 'Durable', apiKey: KEY } })).status).toBe(200);
    const created = await call(url, '/api/instances/batch', {
      headers,
      body: {
        instances: Array.from({ length: 10 }, (_, i) => ({
          apiIdentifier: 'model',
          apiType: 'MODEL',
          businessId: `d-${i}`,
        })),
      },
    });
    const instances = created.body.data as { id: string; businessId: string }[];
    const reportOf = (n: number) => {
      const instance = instances[n % instances.length];
      return {
        instanceId: instance.id,
        businessId: instance.businessId,
        success: n % 5 !== 0,
        latencyMs: n % 997,
        callTimestamp: Date.now(),
        usageMetrics: { totalTokens: 10 },
      };
    };

    let acknowledged = 0;
    const batches = Array.from({ length: (REPORTS - SINGLES) / BATCH }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => reportOf(b * BATCH + i)),
    );
    const singles = Array.from({ length: SINGLES }, (_, i) => reportOf(REPORTS - SINGLES + i));
    await Promise.all([
      pool(batches, 8, async (results) => {
        const res = await call(url, '/api/gateway/report-results', { headers, body: { results } });
        if (res.status === 200) acknowledged += results.length;
      }),
      pool(singles, 64, async (report) => {
        const res = await call(url, '/api/gateway/report-result', { headers, body: report });
        if (res.status === 200) acknowledged += 1;
      }),
    ]);
    expect(acknowledged).toBe(REPORTS);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startGateway(processEnv);
    afterAllKills.push(() => second.child.exitCode === null && second.child.kill('SIGKILL'));
    try {
      const url2 = await listeningUrl(second);
      const login = await call(url2, '/api/admin/auth/login', { body: TEST_ADMIN });
      const token = (login.body.data as { accessToken: string }).accessToken;
      const overview = await call(url2, '/api/admin/observation/overview?timeWindow=24h', {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(overview.body.data).toMatchObject({ totalCallCount: acknowledged, totalInstances: 10 });
      const instancesView = await call(url2, '/api/admin/observation/instances?timeWindow=24h', {
        headers: { authorization: `Bearer ${token}` },
      });
      const perInstance = instancesView.body.data as { callCount: number; totalTokens: number }[];
      expect(perInstance.reduce((sum, one) => sum + one.totalTokens, 0)).toBe(acknowledged * 10);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 180_000);
});

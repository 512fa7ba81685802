import { DataSource } from 'typeorm';
import { HISTOGRAM_BUCKETS, bucketOf, quantile } from '../src/minute-metrics/histogram';
import { MinuteAggregator } from '../src/minute-metrics/minute-aggregator';
import { adminToken, createProject, type TestProject } from './utils/fixtures';
import { modelInstance, postReports, registerInstances, selectedInstance } from './utils/hot-path';
import { mulberry32 } from './utils/mulberry32';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

const MINUTE = 60_000;
const OUTCOMES = [
  { success: true },
  { success: true },
  { success: true },
  { success: false, statusCode: 503 },
  { success: false, errorType: 'TIMEOUT' },
  { success: false, statusCode: 429 },
  { success: false, statusCode: 400 },
] as const;

interface Sent {
  readonly instanceId: string;
  readonly at: number;
  readonly success: boolean;
  readonly failure: boolean;
  readonly rateLimited: boolean;
  readonly latencyMs: number;
  readonly totalTokens: number;
  readonly cost: number;
}

/** Brute force over what was sent: the figures the API must reproduce exactly. */
function expected(sent: readonly Sent[]) {
  const buckets = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  let successes = 0;
  let failures = 0;
  let rateLimited = 0;
  let lastAt = 0;
  let latency = 0;
  let tokens = 0;
  let cost = 0;
  for (const one of sent) {
    buckets[bucketOf(one.latencyMs)]++;
    if (one.success) successes++;
    if (one.failure) failures++;
    if (one.rateLimited) rateLimited++;
    lastAt = Math.max(lastAt, one.at);
    latency += one.latencyMs;
    tokens += one.totalTokens;
    cost += one.cost;
  }
  const calls = sent.length;
  const p = (q: number) => {
    const value = quantile(buckets, q);
    return value === undefined ? null : Math.round(value * 10) / 10;
  };
  return {
    calls,
    successes,
    failures,
    rateLimited,
    lastActiveTime: calls ? new Date(lastAt).toISOString() : undefined,
    successRate: calls ? Math.round(((successes * 100) / calls) * 100) / 100 : null,
    averageLatency: calls ? Math.round((latency / calls) * 100) / 100 : null,
    p50: p(0.5),
    p95: p(0.95),
    p99: p(0.99),
    tokens,
    cost,
    sortedLatencies: sent.map((one) => one.latencyMs).sort((a, b) => a - b),
  };
}

describeEachDatabase('minute metrics and monitoring', (database) => {
  let gateway: TestApp;
  let admin: string;
  let project: TestProject;
  let ids: Record<string, string> = {};
  const sent: Sent[] = [];
  let selections = 0;
  let start = 0;

  beforeAll(async () => {
    gateway = await createTestApp({ database });
    admin = await adminToken(gateway);
    project = await createProject(gateway, 'Monitored');
    ids = await registerInstances(
      gateway,
      project,
      ['m-1', 'm-2', 'm-3'].map((businessId) =>
        // no breaker trips in this scenario: the failure mix must not take instances out
        modelInstance(businessId, 'model', {
          breaker: { consecutiveFailures: 1000, failureRateThreshold: 100, minimumCalls: 100000 },
        }),
      ),
    );

    // 25 minutes of generated traffic, aligned to a minute so the 1h series (1-minute points) is exact.
    gateway.clock.set(Date.UTC(2026, 10, 29, 10, 0, 0));
    start = gateway.clock.now();
    const random = mulberry32(7);
    for (let minute = 0; minute < 25; minute++) {
      const results = [];
      for (let i = 0; i < 40; i++) {
        const instanceId = ids[`m-${1 + Math.floor(random() * 3)}`];
        const outcome = OUTCOMES[Math.floor(random() * OUTCOMES.length)];
        const latencyMs = Math.floor(random() ** 3 * 20_000);
        const totalTokens = Math.floor(random() * 2000);
        const cost = Math.round(random() * 1000) / 100_000;
        const at = gateway.clock.now();
        results.push({
          instanceId,
          latencyMs,
          callTimestamp: at,
          usageMetrics: { totalTokens, cost },
          ...outcome,
        });
        sent.push({
          instanceId,
          at,
          success: outcome.success,
          failure: 'statusCode' in outcome ? outcome.statusCode === 503 : 'errorType' in outcome,
          rateLimited: 'statusCode' in outcome && outcome.statusCode === 429,
          latencyMs,
          totalTokens,
          cost,
        });
      }
      await postReports(gateway, project, results);
      gateway.clock.advance(10_000); // past the RATE_LIMITED cool-downs (5 s)
      if (minute % 2 === 0) {
        await selectedInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL' });
        selections++;
      }
      if (minute % 7 === 3) await gateway.app.get(MinuteAggregator).flush(); // rows of one minute written twice
      gateway.clock.advance(MINUTE - 10_000);
    }
    await gateway.app.get(MinuteAggregator).flush();
  });
  afterAll(() => gateway.close());

  const asAdmin = (path: string) => gateway.http().get(path).set('authorization', `Bearer ${admin}`);

  it('writes one row per instance and minute whose sums equal what was reported', async () => {
    const rows: { instance_id: string; minute_ts: string | number; calls: number; total_tokens: number }[] =
      await gateway.app
        .get(DataSource)
        .query('SELECT instance_id, minute_ts, calls, total_tokens FROM instance_metrics_minute WHERE project_id = ?', [
          project.id,
        ]);
    const keys = new Set(rows.map((row) => `${row.instance_id}|${Number(row.minute_ts)}`));
    expect(keys.size).toBe(rows.length);
    const byKey = new Map<string, Sent[]>();
    for (const one of sent) {
      const key = `${one.instanceId}|${one.at - (one.at % MINUTE)}`;
      byKey.set(key, [...(byKey.get(key) ?? []), one]);
    }
    for (const row of rows) {
      const expectedRows = byKey.get(`${row.instance_id}|${Number(row.minute_ts)}`) ?? [];
      expect(Number(row.calls)).toBe(expectedRows.length);
      expect(Number(row.total_tokens)).toBe(expectedRows.reduce((sum, one) => sum + one.totalTokens, 0));
    }
    expect(rows.reduce((sum, row) => sum + Number(row.calls), 0)).toBe(sent.length);
  });

  it('the time series matches a brute-force computation, bucket by bucket', async () => {
    const res = await asAdmin(`/api/admin/monitoring/timeseries?timeRange=1h&projectId=${project.id}`).expect(200);
    const series = res.body.data;
    expect(series.bucketMinutes).toBe(1);
    expect(series.points).toHaveLength(60);
    for (const point of series.points as Record<string, number | null>[]) {
      const inBucket = sent.filter((one) => one.at >= point.timestamp! && one.at < point.timestamp! + MINUTE);
      const want = expected(inBucket);
      expect(point).toMatchObject({
        calls: want.calls,
        successes: want.successes,
        failures: want.failures,
        successRate: want.successRate,
        averageLatency: want.averageLatency,
        p50LatencyMs: want.p50,
        p95LatencyMs: want.p95,
        p99LatencyMs: want.p99,
        totalTokens: want.tokens,
      });
      expect(point.cost).toBeCloseTo(want.cost, 6);
      if (want.calls > 0) {
        // A histogram percentile lies in the bucket of the exact one.
        const exact = want.sortedLatencies[Math.ceil(0.99 * want.calls) - 1];
        expect(bucketOf(point.p99LatencyMs!)).toBe(bucketOf(exact));
      }
    }
    const withData = (series.points as { calls: number; selections: number }[]).filter(
      (p) => p.calls + p.selections > 0,
    );
    expect(series.callVolume).toHaveLength(withData.length);
    expect(series.callVolume[0]).toEqual({ time: '10:00', value: withData[0].calls });
    const selected = (series.points as { selections: number }[]).reduce((sum, p) => sum + p.selections, 0);
    expect(selected).toBe(selections);
  });

  it('observation per instance over a window matches brute force', async () => {
    const res = await asAdmin(`/api/admin/observation/instances?timeWindow=1h&projectId=${project.id}`).expect(200);
    for (const row of res.body.data as Record<string, unknown>[]) {
      const want = expected(sent.filter((one) => one.instanceId === row.instanceId));
      expect(row).toMatchObject({
        callCount: want.calls,
        successRate: want.successRate,
        averageLatency: want.averageLatency,
        failureCount: want.failures,
        rateLimitedCount: want.rateLimited,
        lastActiveTime: want.lastActiveTime,
        p95LatencyMs: want.p95,
        p99LatencyMs: want.p99,
        totalTokens: want.tokens,
        instanceStatus: 'ACTIVE',
        apiType: 'MODEL',
        projectName: 'Monitored',
      });
    }
    const overview = await asAdmin(`/api/admin/observation/overview?timeWindow=1h&projectId=${project.id}`).expect(200);
    expect(overview.body.data).toMatchObject({ totalInstances: 3, activeInstances: 3, totalCallCount: sent.length });
  });

  it('the monitoring overview covers the 10 whole minutes before the current one, and the current one', async () => {
    const res = await asAdmin(`/api/admin/monitoring/overview?projectId=${project.id}`).expect(200);
    const now = gateway.clock.now();
    const want = expected(sent.filter((one) => one.at >= now - (now % MINUTE) - 10 * MINUTE));
    expect(res.body.data).toMatchObject({
      totalInstances: 3,
      activeInstances: 3,
      totalCalls: want.calls,
      averageSuccessRate: want.successRate,
      averageLatency: want.averageLatency,
      p99LatencyMs: want.p99,
      windowMinutes: 10,
      window: '10m',
      windowStart: new Date(now - (now % MINUTE) - 10 * MINUTE).toISOString(),
    });
  });

  it('lists instances with live state, in the reference shape plus ours', async () => {
    const res = await asAdmin(`/api/admin/monitoring/instances?projectId=${project.id}`).expect(200);
    expect(res.body.data).toHaveLength(3);
    expect(res.body.data[0]).toMatchObject({
      projectId: project.id,
      projectName: 'Monitored',
      apiType: 'MODEL',
      status: 'ACTIVE',
      breakerState: 'CLOSED',
      selectable: true,
      rpm: { limit: null },
      weight: 1,
      priority: 0,
    });
    expect(['HEALTHY', 'DEGRADED', 'FAULTY']).toContain(res.body.data[0].gatewayStatus);
  });

  it('a project key reads its own project only', async () => {
    const other = await createProject(gateway, 'Unmonitored');
    const own = await gateway.http().get('/api/monitoring/instances').set('api-key', project.apiKey).expect(200);
    expect(own.body.data).toHaveLength(3);
    const none = await gateway.http().get('/api/monitoring/instances').set('api-key', other.apiKey).expect(200);
    expect(none.body.data).toEqual([]);
    const series = await gateway
      .http()
      .get(`/api/monitoring/timeseries?timeRange=1h&instanceId=${ids['m-1']}`)
      .set('api-key', other.apiKey)
      .expect(200);
    expect((series.body.data.points as { calls: number }[]).every((p) => p.calls === 0)).toBe(true);
  });

  it.each([
    ['/api/admin/monitoring/timeseries?timeRange=2h', 'timeRange'],
    ['/api/admin/observation/instances?timeWindow=5m', 'timeWindow'],
    ['/api/admin/monitoring/instances?gatewayStatus=BROKEN', 'gatewayStatus'],
    ['/api/admin/monitoring/overview?projectId=nope', 'projectId'],
    ['/api/admin/monitoring/overview?timeWindow=2m', 'timeWindow'],
    ['/api/admin/monitoring/instances?timeWindow=week', 'timeWindow'],
    ['/api/admin/monitoring/fleet?timeWindow=5m', 'timeWindow'],
    ['/api/admin/monitoring/instances/series', 'instanceIds'],
    ['/api/admin/monitoring/instances/series?instanceIds=nope', 'instanceIds'],
    [
      `/api/admin/monitoring/instances/series?instanceIds=${Array.from({ length: 51 }, (_, i) => i.toString(16).padStart(32, '0')).join(',')}`,
      'instanceIds',
    ],
    [`/api/admin/monitoring/instances/series?instanceIds=${'a'.repeat(32)}&timeRange=2h`, 'timeRange'],
  ])('%s is a 400 naming %s', async (path, field) => {
    const res = await asAdmin(path).expect(400);
    expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field }] });
  });

  it('counts distinct instances against the cap: 50 ids and their repeats are served', async () => {
    const repeated = [...new Array<string>(50).fill(ids['m-1']), ids['m-1']].join(',');
    const res = await asAdmin(`/api/admin/monitoring/instances/series?instanceIds=${repeated}`).expect(200);
    expect(res.body.data).toHaveLength(1);
  });

  it('an instance the registry does not hold is a 404 naming instanceIds', async () => {
    const res = await gateway
      .http()
      .get(`/api/admin/monitoring/instances/series?instanceIds=${ids['m-1']},${'0'.repeat(32)}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(404);
    expect(res.body).toMatchObject({ error: 'INSTANCE_NOT_FOUND', details: [{ field: 'instanceIds' }] });
  });

  it('an instance that is only rate-limited shows 0 % failures, 100 % rate limited and is not HEALTHY', async () => {
    const limited = await registerInstances(gateway, project, [
      modelInstance('m-limited', 'limited', { rpmLimit: 1000 }),
    ]);
    const id = limited['m-limited'];
    await postReports(
      gateway,
      project,
      Array.from({ length: 20 }, () => ({
        instanceId: id,
        success: false,
        statusCode: 429,
        latencyMs: 3,
        callTimestamp: gateway.clock.now(),
      })),
    );
    gateway.clock.advance(10_000); // past the cool-down: the status is the rate-limited share's doing
    await gateway.app.get(MinuteAggregator).flush();
    const rows = (await asAdmin(`/api/admin/monitoring/instances?projectId=${project.id}&timeWindow=1m`).expect(200))
      .body.data as Record<string, unknown>[];
    expect(rows.find((row) => row.instanceId === id)).toMatchObject({
      successRate: 0,
      failureRate: 0,
      rateLimitedRate: 100,
      gatewayStatus: 'DEGRADED',
      averageLatency: 3,
      window: '1m',
      rpm: { limit: 1000 },
      errorClasses: { RATE_LIMITED: 20 },
      lastError: { outcome: 'RATE_LIMITED', statusCode: 429 },
    });
  });

  it('rpm.used shows the calls of the last minute when no limit is set', async () => {
    const rows = (await asAdmin(`/api/admin/monitoring/instances?projectId=${project.id}`).expect(200)).body
      .data as Record<string, unknown>[];
    const busy = await registerInstances(gateway, project, [modelInstance('m-busy', 'busy')]);
    await postReports(
      gateway,
      project,
      Array.from({ length: 7 }, () => ({
        instanceId: busy['m-busy'],
        success: true,
        latencyMs: 20,
        callTimestamp: gateway.clock.now(),
      })),
    );
    const after = (await asAdmin(`/api/admin/monitoring/instances?projectId=${project.id}`).expect(200)).body
      .data as Record<string, unknown>[];
    expect(after.find((row) => row.instanceId === busy['m-busy'])).toMatchObject({ rpm: { limit: null, used: 7 } });
    expect(rows.length + 1).toBe(after.length);
    await gateway.app.get(MinuteAggregator).flush(); // written before the purge below
  });

  it('purges minutes past the retention', async () => {
    const aggregator = gateway.app.get(MinuteAggregator);
    gateway.clock.advance(31 * 86_400_000); // past the 30-day retention of the newest rows too
    expect(await aggregator.purge()).toBeGreaterThan(0);
    const rows: unknown[] = await gateway.app
      .get(DataSource)
      .query('SELECT instance_id FROM instance_metrics_minute WHERE project_id = ?', [project.id]);
    expect(rows).toEqual([]);
    void start;
  });
});

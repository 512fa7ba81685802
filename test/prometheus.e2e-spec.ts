import { BreakerEventLog } from '../src/circuit-breaker/breaker-event-log';
import { BreakerService } from '../src/circuit-breaker/breaker.service';
import { buildOpenApiDocument } from '../src/common/swagger';
import { MinuteAggregator } from '../src/minute-metrics/minute-aggregator';
import { LATENCY_BOUNDS_MS } from '../src/minute-metrics/histogram';
import { GatewayMetrics } from '../src/prometheus/gateway-metrics';
import { RegistryIndex } from '../src/registry/registry-index';
import { METRICS_RENDER_TTL_MS } from '../src/prometheus/render-cache';
import { createProject, type TestProject } from './utils/fixtures';
import { modelInstance, registerInstances, reportResult, selectedInstance } from './utils/hot-path';
import { createTestApp, type TestApp } from './utils/test-app';
import { type Family, parsePrometheus } from './utils/prometheus-text';

const parse = parsePrometheus;

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const HEX_ID = /^[0-9a-f]{32}$/;
const FAILURE = { success: false, errorMessage: 'Request failed with status code 503' };
const METRICS_TOKEN = 'metrics-token-for-the-exposition-tests';

describe('GET /metrics: Prometheus exposition', () => {
  let gateway: TestApp;
  let project: TestProject;
  let ids: Record<string, string> = {};

  const select = (extra: Record<string, unknown> = {}) =>
    selectedInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL', ...extra });

  const report = (instanceId: string, body: Record<string, unknown>) =>
    reportResult(gateway, project, instanceId, body);

  async function scrape(): Promise<{ text: string; families: Map<string, Family> }> {
    // One rendering is served for a second: step past it so every scrape sees the state of now.
    gateway.clock.advance(METRICS_RENDER_TTL_MS);
    const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(res.headers['content-type']).toBe(CONTENT_TYPE);
    return { text: res.text, families: new Map(parse(res.text).map((family) => [family.name, family])) };
  }

  function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
    const found = families
      .get(name)
      ?.metrics.find((one) => Object.entries(labels).every(([key, wanted]) => one.labels?.[key] === wanted));
    return found?.value === undefined ? Number.NaN : Number(found.value);
  }

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });
    gateway.app.get(BreakerService).random = () => 0.5;
    project = await createProject(gateway, 'Prometheus');
    ids = await registerInstances(gateway, project, [
      modelInstance('a', 'model', { costPerUnit: 1, provider: 'openai' }),
      modelInstance('b', 'model', { costPerUnit: 2, rpmLimit: 10, tpmLimit: 1000 }),
      modelInstance('c', 'model', { costPerUnit: 3 }),
    ]);

    for (let i = 0; i < 5; i++) await report(ids.a, FAILURE); // trips a
    await report(ids.c, { success: false, statusCode: 429, retryAfterMs: 10_000 }); // c cools down
    await select({ strategy: 'lowest-cost', estimatedTokens: 100 }); // b: a lease left open, quota used
    await gateway.http().get(`/api/instances/${ids.b}/health`).set('api-key', project.apiKey).expect(200);
    await gateway.http().get(`/api/no-such-route/${ids.b}`).expect(404);
    // Until the hot path is wired, prove the exposition of the request-path counters directly.
    const metrics = gateway.app.get(GatewayMetrics);
    for (let i = 0; i < 5; i++) metrics.report('SERVER_ERROR', 120);
    metrics.selection({ strategy: 'lowest-cost', result: 'selected', fallbackUsed: false, degraded: false });
  });
  afterAll(() => gateway.close());

  it('answers the Prometheus text format, and every metric family in it parses', async () => {
    const { text, families } = await scrape();
    const declared = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type.toUpperCase()]);
    expect(declared.length).toBeGreaterThan(30);
    expect(declared.map(([name]) => [name, families.get(name)?.type])).toEqual(declared);
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples.every((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/.test(line))).toBe(true);
  });

  it('is served outside /api, to the metrics token rather than an API key, and left out of the OpenAPI document', async () => {
    await gateway.http().get('/api/metrics').expect(404);
    expect(Object.keys(buildOpenApiDocument(gateway.app).paths).filter((path) => path.includes('metrics'))).toEqual([]);
  });

  it('shows the tripped breaker, its transition and the breaker counts', async () => {
    const { families } = await scrape();
    expect(value(families, 'gateway_breaker_state', { instance_id: ids.a, project_id: project.id })).toBe(2);
    for (const one of families.get('gateway_breaker_state')?.metrics ?? []) {
      if (one.labels?.instance_id !== ids.a) expect(one.value).toBe('0');
    }
    expect(value(families, 'gateway_breaker_transitions_total', { from: 'CLOSED', to: 'OPEN' })).toBe(1);
    expect(value(families, 'gateway_breaker_transitions_total', { from: 'OPEN', to: 'HALF_OPEN' })).toBe(0);
    expect(value(families, 'gateway_breaker_instances', { state: 'OPEN' })).toBe(1);
    expect(value(families, 'gateway_breaker_instances', { state: 'CLOSED' })).toBe(2);
    expect(value(families, 'gateway_breaker_instances', { state: 'DISABLED' })).toBe(0);
  });

  it('shows open leases, quota remaining and cool-downs per instance', async () => {
    const { families } = await scrape();
    expect(value(families, 'gateway_open_leases', { instance_id: ids.b })).toBe(1);
    expect(value(families, 'gateway_leases_open')).toBeGreaterThanOrEqual(1);
    expect(value(families, 'gateway_leases_unreported_total')).toBe(0);
    expect(value(families, 'gateway_quota_remaining', { instance_id: ids.b, kind: 'rpm' })).toBe(9);
    expect(value(families, 'gateway_quota_remaining', { instance_id: ids.b, kind: 'tpm' })).toBe(900);
    expect(value(families, 'gateway_quota_remaining', { instance_id: ids.a })).toBeNaN(); // no limits
    expect(value(families, 'gateway_cooldown_active', { instance_id: ids.c, project_id: project.id })).toBe(1);

    gateway.clock.advance(10_001);
    const later = (await scrape()).families;
    expect(later.get('gateway_cooldown_active')?.metrics).toEqual([]);
  });

  it('shows the write-behind queues of minute metrics and breaker events', async () => {
    await gateway.app.get(MinuteAggregator).flush(true);
    await gateway.app.get(BreakerEventLog).flush();
    const { families } = await scrape();
    expect(value(families, 'gateway_metrics_flushed_rows_total')).toBeGreaterThanOrEqual(3);
    expect(value(families, 'gateway_metrics_buffered_rows')).toBe(0);
    expect(value(families, 'gateway_metrics_dropped_rows_total')).toBe(0);
    expect(value(families, 'gateway_metrics_dropped_reports_total')).toBe(0);
    expect(value(families, 'gateway_metrics_flush_failures_total')).toBe(0);
    expect(value(families, 'gateway_breaker_events_queued')).toBe(0);
    expect(value(families, 'gateway_breaker_events_dropped_total')).toBe(0);
  });

  it('exposes the request-path counters and the process metrics', async () => {
    const { families } = await scrape();
    expect(value(families, 'gateway_reports_total', { outcome: 'SERVER_ERROR' })).toBeGreaterThanOrEqual(5);
    expect(value(families, 'gateway_selections_total', { strategy: 'lowest-cost', result: 'selected' })).toBe(2);
    expect(families.get('gateway_reported_latency_ms')?.type).toBe('HISTOGRAM');
    expect(families.get('gateway_process_cpu_seconds_total')?.type).toBe('COUNTER');
  });

  it('counts HTTP requests by route pattern, never by raw URL', async () => {
    const { families } = await scrape();
    const http = (labels: Record<string, string>) => value(families, 'gateway_http_requests_total', labels);
    expect(http({ method: 'POST', route: '/api/gateway/report-result', status: '200' })).toBe(6);
    expect(http({ method: 'POST', route: '/api/gateway/select-instance', status: '200' })).toBe(1);
    expect(http({ method: 'GET', route: '/api/instances/:id/health', status: '200' })).toBe(1);
    expect(http({ method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(http({ method: 'GET', route: '/metrics', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(families.get('gateway_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
  });

  it('labels carry no free text: ids only in project_id/instance_id, no messages, no URLs with ids', async () => {
    const { text, families } = await scrape();
    const problems: string[] = [];
    for (const family of families.values()) {
      if (family.name === 'gateway_instance_info') continue; // the caller's own names, checked below
      for (const [label, labelValue] of family.metrics.flatMap((one) => Object.entries(one.labels ?? {}))) {
        const idLabel = label === 'project_id' || label === 'instance_id';
        if (idLabel ? !HEX_ID.test(labelValue) : /\s|[0-9a-f]{32}/.test(labelValue)) {
          problems.push(`${family.name}{${label}="${labelValue}"}`);
        }
      }
    }
    expect(problems).toEqual([]);
    const index = gateway.app.get(RegistryIndex);
    for (const { labels = {} } of families.get('gateway_instance_info')?.metrics ?? []) {
      const record = index.get(labels.instance_id);
      expect(labels).toEqual({
        instance_id: record?.id,
        project_id: record?.projectId,
        api_identifier: record?.apiIdentifier,
        business_id: record?.businessId,
        provider: expect.any(String),
      });
    }
    expect(text).not.toContain('Request failed');
    expect(text).not.toContain(`no-such-route/${ids.b}`);
    // Histogram lines (which the parser collapses) checked on the raw text.
    expect(text.split('\n').filter((line) => line.includes('route=') && /[0-9a-f]{32}/.test(line))).toEqual([]);
  });

  it('names every registered instance in gateway_instance_info, provider from routingParams or metadata', async () => {
    const { families } = await scrape();
    const info = families.get('gateway_instance_info');
    expect(info?.type).toBe('GAUGE');
    const byId = new Map((info?.metrics ?? []).map((one) => [one.labels?.instance_id, one]));
    expect(byId.size).toBe(3);
    for (const name of ['a', 'b', 'c']) {
      expect(byId.get(ids[name])?.value).toBe('1');
      expect(byId.get(ids[name])?.labels).toMatchObject({
        project_id: project.id,
        api_identifier: 'model',
        business_id: name,
      });
    }
    expect(byId.get(ids.a)?.labels?.provider).toBe('openai');
    expect(byId.get(ids.c)?.labels?.provider).toBe('');
  });

  it("counts each instance's reported calls by outcome (all 7 from 0) and its latency, in the minute buckets", async () => {
    const { text, families } = await scrape();
    const calls = (instanceId: string, outcome: string) =>
      value(families, 'gateway_instance_calls_total', { instance_id: instanceId, outcome });
    expect(calls(ids.a, 'SERVER_ERROR')).toBe(5);
    expect(calls(ids.a, 'SUCCESS')).toBe(0);
    expect(calls(ids.c, 'RATE_LIMITED')).toBe(1);
    expect(
      families.get('gateway_instance_calls_total')?.metrics.filter((one) => one.labels?.instance_id === ids.a),
    ).toHaveLength(7);
    expect(calls(ids.b, 'SUCCESS')).toBeNaN(); // selected, never reported: no series yet
    const latency = (suffix: string, labels: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`gateway_instance_latency_ms_${suffix}{`) && line.includes(labels))
        .map((line) => line.slice(line.lastIndexOf(' ') + 1));
    expect(latency('count', `instance_id="${ids.a}"`)).toEqual(['5']);
    expect(latency('sum', `instance_id="${ids.a}"`)).toEqual(['600']); // 5 × 120 ms
    const bounds = text
      .split('\n')
      .filter((line) => line.startsWith('gateway_instance_latency_ms_bucket{') && line.includes(ids.a))
      .map((line) => /le="([^"]+)"/.exec(line)?.[1]);
    expect(bounds).toEqual([...LATENCY_BOUNDS_MS.map(String), '+Inf']);
    expect(latency('bucket', `le="100",instance_id="${ids.a}"`)).toEqual(['0']);
    expect(latency('bucket', `le="150",instance_id="${ids.a}"`)).toEqual(['5']);
  });

  it('select-instance and report-result update the counters themselves', async () => {
    const before = (await scrape()).families;
    await select({ strategy: 'lowest-cost' });
    for (let i = 0; i < 5; i++) await report(ids.c, FAILURE);
    const after = (await scrape()).families;
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - (value(before, name, labels) || 0);
    expect(delta('gateway_selections_total', { strategy: 'lowest-cost', result: 'selected' })).toBe(1);
    expect(delta('gateway_reports_total', { outcome: 'SERVER_ERROR' })).toBe(5);
    const instance = { instance_id: ids.c, outcome: 'SERVER_ERROR' };
    expect(delta('gateway_instance_calls_total', instance)).toBe(5);
  });
});

describe('GET /metrics: per-instance series follow the registry', () => {
  let gateway: TestApp;
  let project: TestProject;

  async function scrape(): Promise<string> {
    gateway.clock.advance(METRICS_RENDER_TTL_MS);
    return (await gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text;
  }

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });
    project = await createProject(gateway, 'Prometheus lifecycle');
  });
  afterAll(() => gateway.close());

  it('an update renames the instance in gateway_instance_info; a delete forgets all its series', async () => {
    const { x, y } = await registerInstances(gateway, project, [modelInstance('x'), modelInstance('y')]);
    await reportResult(gateway, project, x, { success: true });
    await reportResult(gateway, project, y, { success: true });
    const info = (text: string, id: string) =>
      parse(text)
        .find((family) => family.name === 'gateway_instance_info')
        ?.metrics.find((one) => one.labels?.instance_id === id)?.labels;
    expect(info(await scrape(), x)).toMatchObject({ api_identifier: 'model', provider: '' });

    await gateway
      .http()
      .put('/api/instances/MODEL/x')
      .set('api-key', project.apiKey)
      .send({ apiIdentifier: 'model-2', metadata: { provider: 'azure' } })
      .expect(200);
    const updated = await scrape();
    expect(info(updated, x)).toMatchObject({ api_identifier: 'model-2', business_id: 'x', provider: 'azure' });
    expect(parse(updated).find((family) => family.name === 'gateway_instance_info')?.metrics).toHaveLength(2);

    await gateway.http().delete('/api/instances/MODEL/x').set('api-key', project.apiKey).expect(200);
    const text = await scrape();
    expect(text).not.toContain(x);
    expect(text).toContain(`gateway_instance_calls_total{instance_id="${y}",outcome="SUCCESS"} 1`);
    expect(gateway.app.get(GatewayMetrics).instances?.size).toBe(1);
  });
});

describe('GET /metrics with GATEWAY_METRICS_PER_INSTANCE=false', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({
      env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN, GATEWAY_METRICS_PER_INSTANCE: 'false' },
    });
  });
  afterAll(() => gateway.close());

  it('leaves out the per-instance calls and latency; the info metric and node-wide counters stay', async () => {
    const project = await createProject(gateway, 'Large fleet');
    const { z } = await registerInstances(gateway, project, [modelInstance('z')]);
    await reportResult(gateway, project, z, { success: true });
    const text = (await gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200))
      .text;
    expect(text).not.toContain('gateway_instance_calls_total');
    expect(text).not.toContain('gateway_instance_latency_ms');
    expect(text).toContain(`gateway_instance_info{instance_id="${z}"`);
    expect(text).toContain('gateway_reports_total{outcome="SUCCESS"} 1');
  });
});

describe('GET /metrics with GATEWAY_METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789';
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_METRICS_TOKEN: token } });
  });
  afterAll(() => gateway.close());

  it('401 in the error envelope without a bearer token', async () => {
    const res = await gateway.http().get('/metrics').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(res.body).toMatchObject({ code: 401, error: 'METRICS_TOKEN_MISSING', requestId: expect.any(String) });
    await gateway.http().get('/metrics').set('authorization', token).expect(401); // not a Bearer scheme
  });

  it('401 with a wrong token, of the same length or not', async () => {
    for (const wrong of [token.replace(/.$/, 'x'), 'short', `${token}-and-more`]) {
      const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${wrong}`).expect(401);
      expect(res.body).toMatchObject({ code: 401, error: 'INVALID_METRICS_TOKEN' });
      expect(JSON.stringify(res.body)).not.toContain(wrong);
    }
  });

  it('200 with the right one', async () => {
    const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.headers['content-type']).toBe(CONTENT_TYPE);
    expect(res.text).toContain('# TYPE gateway_breaker_state gauge');
  });
});

import Fastify from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { LATENCY_BOUNDS_MS } from '../minute-metrics/histogram';
import { loadConfig } from '../config/app-config';
import { GatewayMetrics, MAX_SERIES_PER_FAMILY, OVERFLOW_LABEL, UNMATCHED_ROUTE } from './gateway-metrics';
import { addHttpMetricsHook } from './http-metrics';
import { HistogramFamily } from './scraped-metrics';
import { type Family, type Sample, parsePrometheus } from '../../test/utils/prometheus-text';

const parse = parsePrometheus;

async function scrape(metrics: GatewayMetrics): Promise<Map<string, Family>> {
  return new Map(parse(await metrics.metrics()).map((family) => [family.name, family]));
}

function sample(family: Family | undefined, labels: Record<string, string>): Sample | undefined {
  return family?.metrics.find((one) => Object.entries(labels).every(([key, value]) => one.labels?.[key] === value));
}

/** The value of the exposition line of `name` that carries every one of `labels`. */
function line(text: string, name: string, labels: Record<string, string>): string | undefined {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const found = text.split('\n').find((one) => one.startsWith(`${name}{`) && pairs.every((pair) => one.includes(pair)));
  return found?.slice(found.lastIndexOf(' ') + 1);
}

describe('GatewayMetrics', () => {
  afterEach(() => jest.restoreAllMocks());

  it('counts selections by strategy, result, fallback and degraded', async () => {
    const metrics = new GatewayMetrics();
    metrics.selection({ strategy: 'smart', result: 'selected', fallbackUsed: false, degraded: false });
    metrics.selection({ strategy: 'smart', result: 'selected', fallbackUsed: false, degraded: false });
    metrics.selection({ strategy: 'smart', result: 'least_bad', fallbackUsed: true, degraded: true });
    metrics.selection({ strategy: 'unknown', result: 'UNKNOWN_STRATEGY', fallbackUsed: false, degraded: false });

    const family = (await scrape(metrics)).get('gateway_selections_total');
    expect(family?.type).toBe('COUNTER');
    const base = { strategy: 'smart', fallback: 'false', degraded: 'false' };
    expect(sample(family, { ...base, result: 'selected' })?.value).toBe('2');
    expect(sample(family, { strategy: 'smart', result: 'least_bad', fallback: 'true', degraded: 'true' })?.value).toBe(
      '1',
    );
    expect(sample(family, { strategy: 'unknown', result: 'UNKNOWN_STRATEGY' })?.value).toBe('1');
  });

  it('counts reports and their latency in the LATENCY_BOUNDS_MS buckets; known outcomes start at 0', async () => {
    const metrics = new GatewayMetrics();
    metrics.report('SERVER_ERROR', 120);
    metrics.report('SERVER_ERROR', 4);
    metrics.report('SUCCESS', 70_000);

    const text = await metrics.metrics();
    const reports = parse(text).find((family) => family.name === 'gateway_reports_total');
    expect(sample(reports, { outcome: 'SERVER_ERROR' })?.value).toBe('2');
    expect(sample(reports, { outcome: 'TIMEOUT' })?.value).toBe('0');
    const latency = 'gateway_reported_latency_ms';
    const bounds = text
      .split('\n')
      .filter((one) => one.startsWith(`${latency}_bucket{`) && one.includes('outcome="SERVER_ERROR"'))
      .map((one) => /le="([^"]+)"/.exec(one)?.[1]);
    expect(bounds).toEqual([...LATENCY_BOUNDS_MS.map(String), '+Inf']);
    expect(line(text, `${latency}_count`, { outcome: 'SERVER_ERROR' })).toBe('2');
    expect(line(text, `${latency}_sum`, { outcome: 'SERVER_ERROR' })).toBe('124');
    expect(line(text, `${latency}_bucket`, { outcome: 'SERVER_ERROR', le: '5' })).toBe('1');
    expect(line(text, `${latency}_bucket`, { outcome: 'SERVER_ERROR', le: '150' })).toBe('2');
    expect(line(text, `${latency}_bucket`, { outcome: 'SUCCESS', le: '60000' })).toBe('0');
    expect(line(text, `${latency}_bucket`, { outcome: 'SUCCESS', le: '+Inf' })).toBe('1');
    expect(line(text, `${latency}_count`, { outcome: 'TIMEOUT' })).toBe('0');
  });

  it('counts report fields cut to their prefix, by field; both start at 0', async () => {
    const metrics = new GatewayMetrics();
    const truncated = async () => (await scrape(metrics)).get('gateway_report_fields_truncated_total');
    expect(sample(await truncated(), { field: 'errorMessage' })?.value).toBe('0');
    expect(sample(await truncated(), { field: 'errorType' })?.value).toBe('0');
    metrics.truncated('errorMessage');
    metrics.truncated('errorMessage');
    metrics.truncated('errorType');
    const family = await truncated();
    expect(family?.type).toBe('COUNTER');
    expect(sample(family, { field: 'errorMessage' })?.value).toBe('2');
    expect(sample(family, { field: 'errorType' })?.value).toBe('1');
  });

  it('counts HTTP requests by method, route pattern and status, with their duration', async () => {
    const metrics = new GatewayMetrics();
    metrics.http('GET', '/api/instances/:id/health', 200, 0.0007);
    metrics.http('GET', '/api/instances/:id/health', 404, 0.002);
    metrics.http('GET', UNMATCHED_ROUTE, 404, 0.0001);

    const text = await metrics.metrics();
    const requests = parse(text).find((family) => family.name === 'gateway_http_requests_total');
    expect(sample(requests, { method: 'GET', route: '/api/instances/:id/health', status: '200' })?.value).toBe('1');
    expect(sample(requests, { method: 'GET', route: '/api/instances/:id/health', status: '404' })?.value).toBe('1');
    expect(sample(requests, { route: 'unmatched', status: '404' })?.value).toBe('1');
    const duration = 'gateway_http_request_duration_seconds';
    const health = { method: 'GET', route: '/api/instances/:id/health' };
    expect(line(text, `${duration}_count`, health)).toBe('2');
    expect(line(text, `${duration}_bucket`, { ...health, le: '0.001' })).toBe('1');
    expect(line(text, `${duration}_bucket`, { ...health, le: '0.0025' })).toBe('2');
  });

  it('builds each series once: later calls only look it up and count', async () => {
    const metrics = new GatewayMetrics();
    const counterLabels = jest.spyOn(Counter.prototype, 'labels');
    const histogramLabels = jest.spyOn(Histogram.prototype, 'labels');
    const histogramSeries = jest.spyOn(HistogramFamily.prototype, 'add');
    for (let i = 0; i < 1000; i++) {
      metrics.selection({ strategy: 'round-robin', result: 'selected', fallbackUsed: false, degraded: false });
      metrics.report('SUCCESS', 12); // a known outcome: its series exist from the start
      metrics.http('POST', '/api/gateway/select-instance', 200, 0.0004);
    }
    expect(counterLabels).not.toHaveBeenCalled(); // counters are plain cells, read at scrape time
    expect(histogramLabels).not.toHaveBeenCalled(); // histograms are plain cells too
    expect(histogramSeries).toHaveBeenCalledTimes(1); // the route's duration series, once (report series exist from the start)
    const text = await metrics.metrics();
    expect(line(text, 'gateway_selections_total', { strategy: 'round-robin' })).toBe('1000');
    expect(line(text, 'gateway_http_requests_total', { status: '200' })).toBe('1000');
    expect(line(text, 'gateway_reported_latency_ms_count', { outcome: 'SUCCESS' })).toBe('1000');
  });

  it('folds label sets beyond the per-family limit into one overflow series', async () => {
    const metrics = new GatewayMetrics();
    jest.spyOn(metrics['logger'], 'warn').mockImplementation(() => undefined);
    for (let i = 0; i < MAX_SERIES_PER_FAMILY; i++)
      metrics.selection({ strategy: `s${i}`, result: 'selected', fallbackUsed: false, degraded: false });
    metrics.selection({ strategy: 'one-too-many', result: 'selected', fallbackUsed: false, degraded: false });
    metrics.selection({ strategy: 'and-another', result: 'NO_HEALTHY_INSTANCE', fallbackUsed: true, degraded: false });

    const family = (await scrape(metrics)).get('gateway_selections_total');
    expect(family?.metrics).toHaveLength(MAX_SERIES_PER_FAMILY + 1);
    expect(sample(family, { strategy: OVERFLOW_LABEL, result: OVERFLOW_LABEL })?.value).toBe('2');
    expect(sample(family, { strategy: 'one-too-many' })).toBeUndefined();
  });

  it('keeps a registry per instance, so two apps in one process do not collide', async () => {
    const first = new GatewayMetrics();
    const second = new GatewayMetrics();
    first.report('TIMEOUT', 30_000);
    expect(first.registry).not.toBe(second.registry);
    expect(sample((await scrape(first)).get('gateway_reports_total'), { outcome: 'TIMEOUT' })?.value).toBe('1');
    expect(sample((await scrape(second)).get('gateway_reports_total'), { outcome: 'TIMEOUT' })?.value).toBe('0');
  });

  it('exposes the process metrics with the gateway_ prefix, and the whole text parses', async () => {
    const text = await new GatewayMetrics().metrics();
    const names = parse(text).map((family) => family.name);
    expect(names).toEqual(
      expect.arrayContaining(['gateway_process_cpu_seconds_total', 'gateway_nodejs_heap_size_used_bytes']),
    );
    expect(names.every((name) => name.startsWith('gateway_'))).toBe(true);
  });
});

describe('GatewayMetrics per instance', () => {
  const A = '0123456789abcdef0123456789abcdef';
  const B = 'fedcba9876543210fedcba9876543210';

  /** Exposition lines of `name` for one instance, as `labels value` without the instance label. */
  function series(text: string, name: string, instanceId: string): string[] {
    return text
      .split('\n')
      .filter((one) => one.startsWith(`${name}{`) && one.includes(`instance_id="${instanceId}"`))
      .map((one) => one.replace(`instance_id="${instanceId}"`, '').replace('{,', '{').replace(',}', '}'));
  }

  it('counts calls per instance by outcome, every outcome from 0 once the instance has reported', async () => {
    const metrics = new GatewayMetrics();
    metrics.report('SUCCESS', 80, A);
    metrics.report('SUCCESS', 90, A);
    metrics.report('RATE_LIMITED', 3, A);
    metrics.report('TIMEOUT', 30_000, B);
    metrics.report('SUCCESS', 10); // no instance: the node-wide counters only

    const text = await metrics.metrics();
    const calls = (await scrape(metrics)).get('gateway_instance_calls_total');
    expect(calls?.type).toBe('COUNTER');
    expect(sample(calls, { instance_id: A, outcome: 'SUCCESS' })?.value).toBe('2');
    expect(sample(calls, { instance_id: A, outcome: 'RATE_LIMITED' })?.value).toBe('1');
    expect(sample(calls, { instance_id: A, outcome: 'UNKNOWN' })?.value).toBe('0');
    expect(sample(calls, { instance_id: B, outcome: 'TIMEOUT' })?.value).toBe('1');
    expect(calls?.metrics).toHaveLength(14);
    expect(line(text, 'gateway_instance_latency_ms_count', { instance_id: A })).toBe('3');
    expect(line(text, 'gateway_instance_latency_ms_sum', { instance_id: A })).toBe('173');
  });

  it('exposes the latency histogram exactly as a prom-client Histogram with the minute buckets would', async () => {
    const metrics = new GatewayMetrics();
    const reference = new Histogram({
      name: 'reference_latency_ms',
      help: 'the same observations through prom-client',
      buckets: [...LATENCY_BOUNDS_MS],
      registers: [],
    });
    // Bounds are inclusive (le): values on a bound, just above one, 0, and beyond the last bound.
    const values = [0, 5, 5.5, 10, 99.9, 100, 750, 60_000, 60_001, 250_000, 1234.5];
    for (const value of values) {
      metrics.report('SUCCESS', value, A);
      reference.observe(value);
    }
    const mine = series(await metrics.metrics(), 'gateway_instance_latency_ms_bucket', A);
    const theirs = (await reference.get()).values
      .filter((one) => one.metricName === 'reference_latency_ms_bucket')
      .map((one) => `gateway_instance_latency_ms_bucket{le="${one.labels.le}"} ${one.value}`);
    expect(mine).toEqual(theirs);
    expect(mine.map((one) => /le="([^"]+)"/.exec(one)?.[1])).toEqual([...LATENCY_BOUNDS_MS.map(String), '+Inf']);
  });

  it('forgets the series of instances the registry no longer holds, at the next scrape', async () => {
    const metrics = new GatewayMetrics();
    const live = new Set([A, B]);
    metrics.instances!.isLive = (id) => live.has(id);
    metrics.report('SUCCESS', 80, A);
    metrics.report('SUCCESS', 80, B);
    expect(await metrics.metrics()).toContain(B);

    live.delete(B);
    const text = await metrics.metrics();
    expect(text).toContain(A);
    expect(text).not.toContain(B);
    expect(metrics.instances!.size).toBe(1);
  });

  it('stays bounded by the live instances when nobody scrapes', () => {
    const metrics = new GatewayMetrics();
    const live = new Set<string>();
    metrics.instances!.isLive = (id) => live.has(id);
    for (let i = 0; i < 10_000; i++) {
      const id = i.toString(16).padStart(32, '0');
      live.add(id);
      metrics.report('SUCCESS', 1, id);
      if (i >= 10) live.delete((i - 10).toString(16).padStart(32, '0')); // 10 live at any time
    }
    expect(metrics.instances!.size).toBeLessThan(200);
  });

  it('GATEWAY_METRICS_PER_INSTANCE=false: no per-instance families, the node-wide ones still count', async () => {
    const config = loadConfig({ GATEWAY_METRICS_PER_INSTANCE: 'false' });
    const metrics = new GatewayMetrics(config);
    metrics.report('SUCCESS', 80, A);
    const text = await metrics.metrics();
    expect(metrics.instances).toBeUndefined();
    expect(text).not.toContain('gateway_instance_');
    expect(text).not.toContain(A);
    expect(sample((await scrape(metrics)).get('gateway_reports_total'), { outcome: 'SUCCESS' })?.value).toBe('1');
    expect(new GatewayMetrics(loadConfig({})).instances).toBeDefined(); // on by default
  });
});

describe('addHttpMetricsHook', () => {
  it('labels requests with the matched route pattern, or "unmatched", and hooks an instance once', async () => {
    const metrics = new GatewayMetrics();
    const fastify = Fastify();
    addHttpMetricsHook(fastify, metrics);
    addHttpMetricsHook(fastify, metrics); // a second call must not double-count
    fastify.get('/api/instances/:id/health', () => ({ ok: true }));
    const id = '0123456789abcdef0123456789abcdef';
    try {
      expect((await fastify.inject({ method: 'GET', url: `/api/instances/${id}/health?x=1` })).statusCode).toBe(200);
      expect((await fastify.inject({ method: 'GET', url: `/api/nothing/${id}` })).statusCode).toBe(404);
    } finally {
      await fastify.close();
    }

    const text = await metrics.metrics();
    const requests = parse(text).find((family) => family.name === 'gateway_http_requests_total');
    expect(sample(requests, { method: 'GET', route: '/api/instances/:id/health', status: '200' })?.value).toBe('1');
    expect(sample(requests, { method: 'GET', route: 'unmatched', status: '404' })?.value).toBe('1');
    expect(line(text, 'gateway_http_request_duration_seconds_count', { route: 'unmatched' })).toBe('1');
    expect(text).not.toContain(id);
  });
});

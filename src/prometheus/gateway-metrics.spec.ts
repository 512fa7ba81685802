import Fastify from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { LATENCY_BOUNDS_MS } from '../minute-metrics/histogram';
import { GatewayMetrics, MAX_SERIES_PER_FAMILY, OVERFLOW_LABEL, UNMATCHED_ROUTE } from './gateway-metrics';
import { addHttpMetricsHook } from './http-metrics';
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
    for (let i = 0; i < 1000; i++) {
      metrics.selection({ strategy: 'round-robin', result: 'selected', fallbackUsed: false, degraded: false });
      metrics.report('SUCCESS', 12); // a known outcome: its series exist from the start
      metrics.http('POST', '/api/gateway/select-instance', 200, 0.0004);
    }
    expect(counterLabels).not.toHaveBeenCalled(); // counters are plain cells, read at scrape time
    expect(histogramLabels).toHaveBeenCalledTimes(1); // the route's duration series, once
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

import { LATENCY_BOUNDS_MS } from '../src/minute-metrics/histogram';
import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../src/common/outcome';
import { MinuteAggregator } from '../src/minute-metrics/minute-aggregator';
import { adminToken, createProject, type TestProject } from './utils/fixtures';
import { modelInstance, postReports, registerInstances } from './utils/hot-path';
import { mulberry32 } from './utils/mulberry32';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

/**
 * One definition per figure (docs/figures.md), checked on every surface: seeded random reports of
 * every outcome class, with and without cost and tokens, over two projects, go through the real
 * report API; each figure is then computed by brute force over what was sent — with the
 * definitions written out here, not imported — and compared with the monitoring API (overview and
 * instances), the observation API, the fleet view, both series and Prometheus (/metrics).
 */

const MINUTE = 60_000;
const METRICS_TOKEN = 'metrics-token-for-the-figures-test';
const CLASSES = OUTCOME_CLASSES;
type Outcome = OutcomeClass;
const ERRORS = CLASSES.filter((c) => c !== 'SUCCESS');
const FAILURES = FAILURE_CLASSES;
const CALLER: ReadonlySet<Outcome> = new Set(['CLIENT_ERROR', 'AUTH_ERROR']);
/** How each class is reported (as a client would) — success weighs most. */
const BODIES: readonly [Outcome, Record<string, unknown>][] = [
  ['SUCCESS', { success: true }],
  ['SUCCESS', { success: true }],
  ['SUCCESS', { success: true }],
  ['SUCCESS', { success: true }],
  ['SERVER_ERROR', { success: false, statusCode: 503, errorMessage: 'upstream overloaded '.repeat(20) }],
  ['TIMEOUT', { success: false, errorType: 'TIMEOUT' }],
  ['RATE_LIMITED', { success: false, statusCode: 429, errorMessage: 'slow down' }],
  ['AUTH_ERROR', { success: false, statusCode: 401 }],
  ['CLIENT_ERROR', { success: false, statusCode: 400, errorMessage: 'bad request' }],
  ['UNKNOWN', { success: false }],
];
/** Instance routing parameters: a price per token in camelCase, in snake_case, or none. */
interface Planned {
  readonly businessId: string;
  readonly api: string;
  readonly params: Readonly<Record<string, number>>;
}
const INSTANCES: Readonly<Record<'A' | 'B', readonly Planned[]>> = {
  A: [
    { businessId: 'a-1', api: 'chat', params: { costPerUnit: 0.001 } },
    { businessId: 'a-2', api: 'chat', params: { cost_per_unit: 0.002 } },
    { businessId: 'a-3', api: 'chat', params: {} },
    { businessId: 'a-4', api: 'embed', params: { costPerUnit: 0.0005 } },
  ],
  B: [
    { businessId: 'b-1', api: 'chat', params: { costPerUnit: 0.003 } },
    { businessId: 'b-2', api: 'chat', params: {} },
  ],
};

interface Sent {
  readonly projectId: string;
  readonly instanceId: string;
  readonly api: string;
  readonly outcome: Outcome;
  /** The call's time: the minute it counts in. */
  readonly at: number;
  readonly latencyMs: number;
  readonly totalTokens: number;
  readonly cost: number;
  readonly statusCode?: number;
  readonly message?: string;
}

/** An answer's object, read field by field. */
type Row = Record<string, unknown> & {
  readonly instanceId: string;
  readonly projectId: string;
  readonly apiIdentifier: string;
  readonly cost: number;
  readonly nextProbeAt: string | null;
  readonly lastError: unknown;
};
interface Overview extends Record<string, number | string | null> {
  averageSuccessRate: number;
  failureRate: number;
  rateLimitedRate: number;
  callerErrorRate: number;
  totalCost: number;
}
interface Fleet {
  readonly projects: Row[];
  readonly openBreakers: { instanceId: string; state: string; nextProbeAt: string }[];
  readonly topErrorClasses: unknown[];
}
interface Series {
  readonly instanceId: string;
  readonly points: Record<string, unknown>[];
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const percent = (part: number, calls: number): number => (calls > 0 ? round((part * 100) / calls) : 0);

/** Prometheus' histogram_quantile over non-cumulative counts (one per bound, then +Inf). */
function histogramQuantile(q: number, counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i];
    if (cumulative >= rank && counts[i] > 0) {
      if (i === LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
      const start = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
      return start + ((LATENCY_BOUNDS_MS[i] - start) * (rank - before)) / counts[i];
    }
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

function histogramOf(latencies: readonly number[]): number[] {
  const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  for (const ms of latencies) {
    const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
    counts[i === -1 ? LATENCY_BOUNDS_MS.length : i]++;
  }
  return counts;
}

/** Every figure of `reports`, by brute force. */
function figures(reports: readonly Sent[]) {
  const calls = reports.length;
  const count = (pick: (one: Sent) => boolean) => reports.filter(pick).length;
  const successes = count((one) => one.outcome === 'SUCCESS');
  const failures = count((one) => FAILURES.has(one.outcome));
  const rateLimited = count((one) => one.outcome === 'RATE_LIMITED');
  const callerErrors = count((one) => CALLER.has(one.outcome));
  const latency = reports.reduce((sum, one) => sum + one.latencyMs, 0);
  const counts = histogramOf(reports.map((one) => one.latencyMs));
  const p = (q: number) => {
    const value = histogramQuantile(q, counts);
    return value === null ? null : round(value, 1);
  };
  return {
    calls,
    successes,
    failures,
    rateLimited,
    callerErrors,
    successRate: percent(successes, calls),
    failureRate: percent(failures, calls),
    rateLimitedRate: percent(rateLimited, calls),
    callerErrorRate: percent(callerErrors, calls),
    averageLatency: calls > 0 ? round(latency / calls) : null,
    p50: p(0.5),
    p95: p(0.95),
    p99: p(0.99),
    totalTokens: reports.reduce((sum, one) => sum + one.totalTokens, 0),
    cost: reports.reduce((sum, one) => sum + one.cost, 0),
    errorClasses: Object.fromEntries(ERRORS.map((outcome) => [outcome, count((one) => one.outcome === outcome)])),
  };
}

/** Prometheus text samples of `name`: labels and value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels: Record<string, string> = {};
    for (const [, key, value] of line.slice(name.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value;
    }
    out.push({ labels, value: Number(line.slice(close + 1).trim()) });
  }
  return out;
}

describeEachDatabase('every figure, on every surface, equals its brute-force definition', (database) => {
  let gateway: TestApp;
  let admin: string;
  const projects: Record<'A' | 'B', TestProject> = {} as Record<'A' | 'B', TestProject>;
  const ids: Record<string, string> = {};
  const apiOf: Record<string, string> = {};
  const sent: Sent[] = [];
  let now = 0;

  beforeAll(async () => {
    gateway = await createTestApp({ database, env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });
    admin = await adminToken(gateway);
    gateway.clock.set(Date.UTC(2026, 2, 2, 8, 0, 0));
    for (const name of ['A', 'B'] as const) {
      projects[name] = await createProject(gateway, `Figures ${name}`);
      const registered = await registerInstances(
        gateway,
        projects[name],
        INSTANCES[name].map((one) => modelInstance(one.businessId, one.api, one.params)),
      );
      for (const one of INSTANCES[name]) {
        ids[one.businessId] = registered[one.businessId];
        apiOf[one.businessId] = one.api;
      }
    }
    const random = mulberry32(20);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    // 75 minutes, three batches a minute per project; calls stamped up to 30 s before they are reported.
    for (let step = 0; step < 75 * 3; step++) {
      for (const name of ['A', 'B'] as const) {
        const results: Record<string, unknown>[] = [];
        const size = 1 + Math.floor(random() * 6);
        for (let i = 0; i < size; i++) {
          const instance = pick(INSTANCES[name]);
          const [outcome, body] = pick(BODIES);
          const latencyMs = Math.floor(random() ** 3 * 12_000);
          const at = gateway.clock.now() - Math.floor(random() * 30_000);
          const tokens = 1 + Math.floor(random() * 3000);
          const usageKind = Math.floor(random() * 4);
          // 0: cost and tokens; 1: tokens only; 2: prompt + completion only; 3: nothing.
          const prompt = Math.floor(tokens / 3);
          const reportedCost = Math.round(random() * 10_000) / 1_000_000;
          const usageMetrics =
            usageKind === 0
              ? { totalTokens: tokens, cost: reportedCost }
              : usageKind === 1
                ? { totalTokens: tokens }
                : usageKind === 2
                  ? { promptTokens: prompt, completionTokens: tokens - prompt }
                  : undefined;
          const price = instance.params.costPerUnit ?? instance.params.cost_per_unit;
          const cost = usageKind === 0 ? reportedCost : usageKind === 3 || price === undefined ? 0 : price * tokens;
          results.push({ instanceId: ids[instance.businessId], latencyMs, callTimestamp: at, usageMetrics, ...body });
          sent.push({
            projectId: projects[name].id,
            instanceId: ids[instance.businessId],
            api: instance.api,
            outcome,
            at,
            latencyMs,
            // The tokens figure: totalTokens, else prompt + completion (kind 2 sends those).
            totalTokens: usageKind <= 2 ? tokens : 0,
            cost,
            statusCode: body.statusCode as number | undefined,
            message: body.errorMessage as string | undefined,
          });
        }
        await postReports(gateway, projects[name], results);
      }
      gateway.clock.advance(20_000);
      // Rows of one minute written in several flushes add up.
      if (step % 17 === 5) await gateway.app.get(MinuteAggregator).flush();
    }
    gateway.clock.advance(7_000); // mid-minute: the current minute is partial
    await gateway.app.get(MinuteAggregator).flush();
    now = gateway.clock.now();
  });
  afterAll(() => gateway.close());

  const asAdmin = <T>(path: string): Promise<T> =>
    gateway
      .http()
      .get(path)
      .set('authorization', `Bearer ${admin}`)
      .expect(200)
      .then((res) => res.body.data as T);
  const minuteOf = (at: number) => at - (at % MINUTE);
  const WINDOWS = { '1m': 1, '10m': 10, '1h': 60 } as const;
  const inWindow = (window: keyof typeof WINDOWS) => (one: Sent) =>
    minuteOf(one.at) >= minuteOf(now) - WINDOWS[window] * MINUTE;

  it('sent every outcome class, with and without cost', () => {
    for (const outcome of CLASSES) expect(sent.some((one) => one.outcome === outcome)).toBe(true);
    expect(sent.length).toBeGreaterThan(1000);
  });

  describe.each(Object.keys(WINDOWS) as (keyof typeof WINDOWS)[])('over %s', (window) => {
    it('the monitoring overview (each project and all) and the observation overview agree with brute force', async () => {
      for (const projectId of [projects.A.id, projects.B.id, undefined]) {
        const want = figures(
          sent.filter((one) => inWindow(window)(one) && (!projectId || one.projectId === projectId)),
        );
        const scope = projectId ? `&projectId=${projectId}` : '';
        const monitoring = await asAdmin<Overview>(`/api/admin/monitoring/overview?timeWindow=${window}${scope}`);
        const observation = await asAdmin<Overview>(`/api/admin/observation/overview?timeWindow=${window}${scope}`);
        const common = {
          averageSuccessRate: want.successRate,
          averageLatency: want.averageLatency ?? 0,
          p95LatencyMs: want.p95,
          p99LatencyMs: want.p99,
          failureRate: want.failureRate,
          rateLimitedRate: want.rateLimitedRate,
          callerErrorRate: want.callerErrorRate,
          window,
        };
        expect(monitoring).toMatchObject({ ...common, totalCalls: want.calls, totalTokens: want.totalTokens });
        expect(monitoring.p50LatencyMs).toBe(want.p50);
        expect(monitoring.totalCost).toBeCloseTo(want.cost, 5);
        expect(observation).toMatchObject({ ...common, totalCallCount: want.calls, totalTokens: want.totalTokens });
        expect(observation.totalCost).toBeCloseTo(want.cost, 5);
        expect(
          monitoring.averageSuccessRate +
            monitoring.failureRate +
            monitoring.rateLimitedRate +
            monitoring.callerErrorRate,
        ).toBeCloseTo(want.calls > 0 ? 100 : 0, 1);
      }
    });

    it('each instance row (monitoring and observation) equals brute force over the same window', async () => {
      const rows = await asAdmin<Row[]>(`/api/admin/monitoring/instances?timeWindow=${window}`);
      const observed = await asAdmin<Row[]>(`/api/admin/observation/instances?timeWindow=${window}`);
      expect(rows).toHaveLength(6);
      expect(observed).toHaveLength(6);
      for (const row of rows) {
        const inScope = sent.filter(inWindow(window));
        const mine = inScope.filter((one) => one.instanceId === row.instanceId);
        const want = figures(mine);
        const group = inScope.filter((one) => one.projectId === row.projectId && one.api === row.apiIdentifier);
        expect(row).toMatchObject({
          window,
          recentCalls: want.calls,
          successCount: want.successes,
          failureCount: want.failures,
          rateLimitedCount: want.rateLimited,
          callerErrorCount: want.callerErrors,
          successRate: want.successRate,
          failureRate: want.failureRate,
          rateLimitedRate: want.rateLimitedRate,
          callerErrorRate: want.callerErrorRate,
          averageLatency: want.averageLatency ?? 0,
          p50LatencyMs: want.p50,
          p95LatencyMs: want.p95,
          p99LatencyMs: want.p99,
          totalTokens: want.totalTokens,
          errorClasses: want.errorClasses,
          trafficSharePercent: percent(want.calls, group.length),
        });
        expect(row.cost).toBeCloseTo(want.cost, 5);
        expect(row.latencyScoreMs).toEqual(expect.any(Number));
        const other = observed.find((one) => one.instanceId === row.instanceId)!;
        expect(other).toMatchObject({
          window,
          callCount: want.calls,
          successRate: want.successRate,
          failureRate: want.failureRate,
          rateLimitedRate: want.rateLimitedRate,
          callerErrorRate: want.callerErrorRate,
          averageLatency: want.averageLatency ?? 0,
          failureCount: want.failures,
          rateLimitedCount: want.rateLimited,
          callerErrorCount: want.callerErrors,
          p50LatencyMs: want.p50,
          p95LatencyMs: want.p95,
          p99LatencyMs: want.p99,
          totalTokens: want.totalTokens,
        });
        expect(other.cost).toBeCloseTo(want.cost, 5);
      }
    });

    it('the fleet view equals brute force', async () => {
      const fleet = await asAdmin<Fleet>(`/api/admin/monitoring/fleet?timeWindow=${window}`);
      const all = figures(sent.filter(inWindow(window)));
      expect(fleet).toMatchObject({
        window,
        generatedAt: new Date(now).toISOString(),
        totals: { projects: 2, instances: 6, calls: all.calls, successRate: all.successRate },
      });
      for (const name of ['A', 'B'] as const) {
        const want = figures(sent.filter((one) => inWindow(window)(one) && one.projectId === projects[name].id));
        const row = fleet.projects.find((one) => one.projectId === projects[name].id);
        expect(row).toMatchObject({
          name: `Figures ${name}`,
          instances: INSTANCES[name].length,
          calls: want.calls,
          successRate: want.successRate,
        });
      }
      const top = ERRORS.map((outcome) => ({ outcome, calls: all.errorClasses[outcome] }))
        .filter((one) => one.calls > 0)
        .sort((a, b) => b.calls - a.calls || a.outcome.localeCompare(b.outcome));
      expect(fleet.topErrorClasses).toEqual(top);
      // Open breakers name when they probe next, as the instance rows do.
      const rows = await asAdmin<Row[]>(`/api/admin/monitoring/instances?timeWindow=${window}`);
      for (const open of fleet.openBreakers) {
        const row = rows.find((one) => one.instanceId === open.instanceId)!;
        expect(row.nextProbeAt).toBe(open.nextProbeAt);
        if (open.state === 'OPEN') expect(Date.parse(open.nextProbeAt)).toBeGreaterThan(now);
      }
    });
  });

  /** Every point of a series against brute force over its bucket. */
  function expectPoints(points: Record<string, unknown>[], reports: readonly Sent[], bucketMinutes: number) {
    for (const point of points) {
      const start = point.timestamp as number;
      const want = figures(reports.filter((one) => one.at >= start && one.at < start + bucketMinutes * MINUTE));
      expect(point).toMatchObject({
        calls: want.calls,
        successes: want.successes,
        failures: want.failures,
        rateLimited: want.rateLimited,
        callerErrors: want.callerErrors,
        successRate: want.calls ? want.successRate : null,
        failureRate: want.calls ? want.failureRate : null,
        rateLimitedRate: want.calls ? want.rateLimitedRate : null,
        callerErrorRate: want.calls ? want.callerErrorRate : null,
        averageLatency: want.averageLatency,
        p50LatencyMs: want.p50,
        p95LatencyMs: want.p95,
        p99LatencyMs: want.p99,
        totalTokens: want.totalTokens,
      });
      expect(point.cost).toBeCloseTo(want.cost, 5);
    }
  }

  it.each([
    ['1h', 1, 60],
    ['6h', 5, 72],
  ] as const)(
    'the %s series (a project, and instances side by side) equal brute force per point',
    async (range, minutes, length) => {
      const project = await asAdmin<Series>(
        `/api/admin/monitoring/timeseries?timeRange=${range}&projectId=${projects.A.id}`,
      );
      expect(project).toMatchObject({ bucketMinutes: minutes, timeRange: range });
      expect(project.points).toHaveLength(length);
      expectPoints(
        project.points,
        sent.filter((one) => one.projectId === projects.A.id),
        minutes,
      );
      const all = Object.values(ids);
      const side = await asAdmin<Series[]>(
        `/api/admin/monitoring/instances/series?timeRange=${range}&instanceIds=${all.join(',')}`,
      );
      expect(side.map((one) => one.instanceId)).toEqual(all);
      for (const one of side) {
        expect(one.points).toHaveLength(length);
        expectPoints(
          one.points,
          sent.filter((report) => report.instanceId === one.instanceId),
          minutes,
        );
      }
    },
  );

  it('Prometheus counts the same calls per instance and outcome, and histogram_quantile gives the same p99', async () => {
    const res = await gateway.http().get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    const text = res.text;
    const calls = samples(text, 'gateway_instance_calls_total');
    const buckets = samples(text, 'gateway_instance_latency_ms_bucket');
    // Everything sent lies within 24 h: the 24h window holds it all.
    const rows = await asAdmin<Row[]>('/api/admin/observation/instances?timeWindow=24h');
    for (const instanceId of Object.values(ids)) {
      const mine = sent.filter((one) => one.instanceId === instanceId);
      for (const outcome of CLASSES) {
        const sample = calls.find((one) => one.labels.instance_id === instanceId && one.labels.outcome === outcome);
        expect({ instanceId, outcome, calls: sample?.value ?? 0 }).toEqual({
          instanceId,
          outcome,
          calls: mine.filter((one) => one.outcome === outcome).length,
        });
      }
      // success rate = sum(rate(calls{outcome="SUCCESS"})) / sum(rate(calls)) over the same reports
      const total = calls.filter((one) => one.labels.instance_id === instanceId).reduce((s, one) => s + one.value, 0);
      const success = calls.find((one) => one.labels.instance_id === instanceId && one.labels.outcome === 'SUCCESS');
      const row = rows.find((one) => one.instanceId === instanceId)!;
      expect(percent(success?.value ?? 0, total)).toBe(row.successRate);
      // histogram_quantile(0.99, gateway_instance_latency_ms_bucket) = the API's p99
      const cumulative = [...LATENCY_BOUNDS_MS.map(String), '+Inf'].map(
        (le) => buckets.find((one) => one.labels.instance_id === instanceId && one.labels.le === le)?.value ?? NaN,
      );
      const counts = cumulative.map((value, i) => value - (i === 0 ? 0 : cumulative[i - 1]));
      expect(counts).toEqual(histogramOf(mine.map((one) => one.latencyMs)));
      for (const [q, field] of [
        [0.5, 'p50LatencyMs'],
        [0.95, 'p95LatencyMs'],
        [0.99, 'p99LatencyMs'],
      ] as const) {
        expect(round(histogramQuantile(q, counts)!, 1)).toBe(row[field]);
      }
      const sum = samples(text, 'gateway_instance_latency_ms_sum').find((one) => one.labels.instance_id === instanceId);
      expect(sum?.value).toBe(mine.reduce((s, one) => s + one.latencyMs, 0));
    }
    // gateway_instance_info joins the id to readable names.
    const info = samples(text, 'gateway_instance_info');
    expect(info.find((one) => one.labels.instance_id === ids['a-1'])?.labels).toMatchObject({
      project_id: projects.A.id,
      api_identifier: 'chat',
      business_id: 'a-1',
    });
  });

  it('each instance shows its last error (the latest non-success report, message cut to 300 characters)', async () => {
    const rows = await asAdmin<Row[]>('/api/admin/monitoring/instances');
    for (const row of rows) {
      const last = sent.filter((one) => one.instanceId === row.instanceId && one.outcome !== 'SUCCESS').at(-1);
      if (!last) {
        expect(row.lastError).toBeNull();
        continue;
      }
      expect(row.lastError).toEqual({
        at: expect.any(String),
        outcome: last.outcome,
        ...(last.statusCode !== undefined ? { statusCode: last.statusCode } : {}),
        ...(last.message !== undefined ? { message: last.message.slice(0, 300) } : {}),
      });
    }
  });

  it('filtered by instance status, the observation overview counts the calls of the instances it lists', async () => {
    const inactive = ids['a-1'];
    const deactivate = (state: 'deactivate' | 'activate') =>
      gateway
        .http()
        .post(`/api/admin/instances/${inactive}/${state}`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
    await deactivate('deactivate');
    try {
      const want = figures(
        sent.filter((one) => inWindow('1h')(one) && one.projectId === projects.A.id && one.instanceId !== inactive),
      );
      const observation = await asAdmin<Overview>(
        `/api/admin/observation/overview?timeWindow=1h&projectId=${projects.A.id}&instanceStatus=ACTIVE`,
      );
      expect(observation).toMatchObject({
        totalCallCount: want.calls,
        averageSuccessRate: want.successRate,
        failureRate: want.failureRate,
        p99LatencyMs: want.p99,
      });
    } finally {
      await deactivate('activate');
    }
  });
});

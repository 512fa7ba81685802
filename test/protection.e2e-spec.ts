import { BreakerService } from '../src/circuit-breaker/breaker.service';
import { adminToken, createProject, type TestProject } from './utils/fixtures';
import { modelInstance, registerInstances, reportResult, selectInstance } from './utils/hot-path';
import { createTestApp, type TestApp } from './utils/test-app';

/**
 * Protection over real HTTP (docs/resilience.md §1–4): breakers, cool-downs, quotas, operator control,
 * least-bad, the health route. Time is the app's fake clock; nothing sleeps. Every scenario uses a
 * project of its own. The database is never on this path, so one (SQLite) is enough here.
 */
describe('protection: breakers, cool-downs and quotas over HTTP', () => {
  let gateway: TestApp;
  let admin: string;
  let seq = 0;

  beforeAll(async () => {
    gateway = await createTestApp();
    gateway.app.get(BreakerService).random = () => 0.5; // no jitter: exact open times
    admin = await adminToken(gateway);
  });
  afterAll(() => gateway.close());

  /** A fresh project with the given instances of `apiIdentifier` "model" (MODEL). */
  async function scenario(
    instances: Record<string, Record<string, unknown>>,
    settings?: Record<string, unknown>,
  ): Promise<{ project: TestProject; ids: Record<string, string> }> {
    const project = await createProject(gateway, `Protection ${++seq}`);
    const ids = await registerInstances(
      gateway,
      project,
      Object.entries(instances).map(([businessId, routingParams]) => modelInstance(businessId, 'model', routingParams)),
    );
    if (settings) {
      await gateway
        .http()
        .patch('/api/projects/current/settings')
        .set('api-key', project.apiKey)
        .send(settings)
        .expect(200);
    }
    return { project, ids };
  }

  const select = (project: TestProject, extra: Record<string, unknown> = {}) =>
    selectInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL', ...extra });

  const report = (project: TestProject, instanceId: string, body: Record<string, unknown>) =>
    reportResult(gateway, project, instanceId, body);

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a response body, asserted field by field
  const health = async (project: TestProject, instanceId: string): Promise<any> => {
    const res = await gateway.http().get(`/api/instances/${instanceId}/health`).set('api-key', project.apiKey);
    expect(res.status).toBe(200);
    return res.body.data;
  };

  const failure = { success: false, errorMessage: 'Request failed with status code 503' };

  describe('circuit breaker', () => {
    it('trips after 5 consecutive failures; the others take the traffic; the last one is out too', async () => {
      const { project, ids } = await scenario({ a: { costPerUnit: 1 }, b: { costPerUnit: 2 } });
      for (let i = 0; i < 4; i++) await report(project, ids.a, failure);
      expect((await health(project, ids.a)).selectable).toBe(true);
      await report(project, ids.a, { success: false, errorMessage: 'connect ECONNREFUSED 10.0.0.7:443' });
      const a = await health(project, ids.a);
      expect(a).toMatchObject({
        selectable: false,
        reason: 'breaker OPEN: 5 consecutive SERVER_ERROR',
        breaker: { state: 'OPEN', trips: 1, nextProbeAt: new Date(gateway.clock.now() + 30_000).toISOString() },
      });
      for (let i = 0; i < 5; i++) {
        expect((await select(project, { strategy: 'lowest-cost' }).expect(200)).body.data.businessId).toBe('b');
      }
      for (let i = 0; i < 5; i++) await report(project, ids.b, { errorType: 'TIMEOUT', success: false });
      const none = await select(project).expect(400);
      expect(none.body).toMatchObject({ error: 'NO_HEALTHY_INSTANCE', details: { retryAfterMs: 30_000 } });
      expect(none.body.details.tried[0].result).toContain('breaker OPEN: 5 consecutive SERVER_ERROR');
    });

    it('half-open admits exactly 3 probes, 3 successes close it, and the breaker-events log has every step', async () => {
      const { project, ids } = await scenario({ solo: {} });
      for (let i = 0; i < 5; i++) await report(project, ids.solo, failure);
      gateway.clock.advance(30_000);
      const probes = [];
      for (let i = 0; i < 3; i++) probes.push((await select(project).expect(200)).body.data);
      const fourth = await select(project).expect(400);
      expect(fourth.body.error).toBe('NO_HEALTHY_INSTANCE');
      expect(fourth.body.details.retryAfterMs).toBe(60_000); // the first probe lease's expiry
      expect((await health(project, ids.solo)).breaker).toMatchObject({ state: 'HALF_OPEN', probesInFlight: 3 });
      for (const probe of probes) await report(project, ids.solo, { success: true, selectionId: probe.selectionId });
      expect((await health(project, ids.solo)).breaker).toMatchObject({ state: 'CLOSED', probesInFlight: 0 });
      expect((await health(project, ids.solo)).slowStartFactor).toBeCloseTo(0.1);

      const { BreakerEventLog } = await import('../src/circuit-breaker/breaker-event-log');
      await gateway.app.get(BreakerEventLog).flush();
      const events = await gateway
        .http()
        .get(`/api/admin/breaker-events?instanceId=${ids.solo}`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(
        (events.body.data.items as { from: string; to: string; reason: string }[]).map(
          (e) => `${e.from}→${e.to}: ${e.reason}`,
        ),
      ).toEqual([
        'HALF_OPEN→CLOSED: 3 probe calls succeeded',
        'OPEN→HALF_OPEN: open time over; admitting 3 probe calls',
        'CLOSED→OPEN: 5 consecutive SERVER_ERROR',
      ]);
    });

    it('a HALF_OPEN instance gets the next calls as probes, whatever the strategy thinks of it', async () => {
      const { project, ids } = await scenario({ a: { costPerUnit: 1 }, b: { costPerUnit: 2 } });
      for (let i = 0; i < 5; i++) await report(project, ids.a, failure);
      gateway.clock.advance(30_000);
      // lowest-cost would pick `a` anyway; smart would not (its window is all failures): use smart.
      const picks = [];
      for (let i = 0; i < 4; i++) picks.push((await select(project).expect(200)).body.data.businessId);
      expect(picks.slice(0, 3)).toEqual(['a', 'a', 'a']);
      expect(picks[3]).toBe('b'); // every probe slot taken
      expect((await health(project, ids.a)).breaker).toMatchObject({ state: 'HALF_OPEN', probesInFlight: 3 });
    });

    it('a failed probe re-opens for 60 s, and an unreported probe frees its slot at lease expiry', async () => {
      const { project, ids } = await scenario({ solo: {} }, { quotas: { leaseTtlMs: 5000 } });
      for (let i = 0; i < 5; i++) await report(project, ids.solo, failure);
      gateway.clock.advance(30_000);
      const probe = (await select(project).expect(200)).body.data;
      await report(project, ids.solo, { ...failure, selectionId: probe.selectionId });
      expect((await select(project).expect(400)).body.details.retryAfterMs).toBe(60_000);
      gateway.clock.advance(60_000);
      for (let i = 0; i < 3; i++) await select(project).expect(200); // never reported
      expect((await select(project).expect(400)).body.details.retryAfterMs).toBe(5000);
      gateway.clock.advance(5000);
      expect((await select(project).expect(200)).body.data.businessId).toBe('solo');
    });

    it('1,000 caller errors and 500 rate limits trip nothing', async () => {
      const { project, ids } = await scenario({ a: {} });
      const results = Array.from({ length: 500 }, (_, i) => ({
        instanceId: ids.a,
        businessId: 'a',
        success: false,
        latencyMs: 5,
        callTimestamp: gateway.clock.now(),
        errorMessage: i % 2 === 0 ? 'maximum context length exceeded' : 'rejected by our safety system',
      }));
      for (const [statusCode, errorType] of [
        [400, null],
        [422, null],
        [429, 'RATE_LIMITED'],
      ]) {
        await gateway
          .http()
          .post('/api/gateway/report-results')
          .set('api-key', project.apiKey)
          .send({ results: results.map((one) => ({ ...one, statusCode, errorType })) })
          .expect(200);
      }
      const after = await health(project, ids.a);
      expect(after.breaker).toMatchObject({ state: 'CLOSED', window: { calls: 0 } });
      expect(after.window.byOutcome).toMatchObject({ CLIENT_ERROR: 1000, RATE_LIMITED: 500, SERVER_ERROR: 0 });
      gateway.clock.advance(60_000); // past the cool-downs the 429s caused
      expect((await health(project, ids.a)).selectable).toBe(true);
    });

    it('two refused connections in a row open it (the backend is not there); refusals between successes never do', async () => {
      const { project, ids } = await scenario({ a: {}, b: {} });
      const refused = { success: false, errorMessage: 'java.net.ConnectException: Connection refused' };
      for (let i = 0; i < 6; i++) {
        await report(project, ids.b, refused);
        for (let k = 0; k < 3; k++) await report(project, ids.b, { success: true }); // 25 %: under the rate rule
      }
      expect((await health(project, ids.b)).breaker.state).toBe('CLOSED');
      await report(project, ids.a, refused);
      expect((await health(project, ids.a)).breaker.state).toBe('CLOSED');
      await report(project, ids.a, { success: false, errorMessage: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9' });
      const breaker = (await health(project, ids.a)).breaker;
      expect(breaker.state).toBe('OPEN');
      expect(breaker.reason).toContain('could not reach the backend');
    });

    it('AUTH_ERROR opens the breaker for 300 s at once', async () => {
      const { project, ids } = await scenario({ a: {} });
      await report(project, ids.a, { success: false, statusCode: 401, errorMessage: 'Incorrect API key provided' });
      expect((await select(project).expect(400)).body.details.retryAfterMs).toBe(300_000);
    });
  });

  describe('RATE_LIMITED cool-down (429 storm)', () => {
    it('skips the instance until Retry-After, extends on a repeat, then serves it again', async () => {
      const { project, ids } = await scenario({ a: { costPerUnit: 1 }, b: { costPerUnit: 2 } });
      const cheapest = () => select(project, { strategy: 'lowest-cost' }).expect(200);
      expect((await cheapest()).body.data.businessId).toBe('a');
      await report(project, ids.a, { success: false, statusCode: 429, retryAfterMs: 10_000 });
      for (let i = 0; i < 3; i++) expect((await cheapest()).body.data.businessId).toBe('b');
      gateway.clock.advance(5000);
      await report(project, ids.a, {
        success: false,
        errorMessage: 'Rate limit reached for gpt-4o. Please try again in 10s.',
      });
      gateway.clock.advance(5000); // the first cool-down would end here
      expect((await cheapest()).body.data.businessId).toBe('b');
      gateway.clock.advance(5000);
      expect((await cheapest()).body.data.businessId).toBe('a');
      expect((await health(project, ids.a)).breaker.state).toBe('CLOSED');
    });

    it('answers QUOTA_EXHAUSTED (429, Retry-After) when every instance is cooling down', async () => {
      const { project, ids } = await scenario({ a: {} });
      await report(project, ids.a, { success: false, statusCode: 429 });
      const res = await select(project).expect(429);
      expect(res.body).toMatchObject({ code: 429, error: 'QUOTA_EXHAUSTED', details: { retryAfterMs: 5000 } });
      expect(res.headers['retry-after']).toBe('5');
    });
  });

  describe('quotas', () => {
    it('rpmLimit 60: exactly 60 decisions per rolling minute go to it, the rest to the others', async () => {
      const { project } = await scenario({ limited: { costPerUnit: 1, rpmLimit: 60 }, other: { costPerUnit: 2 } });
      const counts: Record<string, number> = {};
      for (let i = 0; i < 100; i++) {
        const chosen = (await select(project, { strategy: 'lowest-cost' }).expect(200)).body.data.businessId;
        counts[chosen] = (counts[chosen] ?? 0) + 1;
        gateway.clock.advance(100);
      }
      expect(counts).toEqual({ limited: 60, other: 40 });
    });

    it('QUOTA_EXHAUSTED with the time until the oldest decision leaves the minute', async () => {
      const { project } = await scenario({ only: { rpmLimit: 2 } });
      await select(project).expect(200);
      gateway.clock.advance(20_000);
      await select(project).expect(200);
      gateway.clock.advance(10_000);
      const res = await select(project).expect(429);
      expect(res.body.details.retryAfterMs).toBe(30_000);
      expect(res.headers['retry-after']).toBe('30');
      gateway.clock.advance(30_000);
      await select(project).expect(200);
    });

    it('TPM: the estimate is reserved at decision time and corrected by the reported usage', async () => {
      const { project, ids } = await scenario({ a: { tpmLimit: 10_000 } });
      const first = (await select(project, { estimatedTokens: 8000 }).expect(200)).body.data;
      expect((await select(project, { estimatedTokens: 4000 }).expect(429)).body.error).toBe('QUOTA_EXHAUSTED');
      await report(project, ids.a, {
        success: true,
        selectionId: first.selectionId,
        usageMetrics: { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 },
      });
      expect((await health(project, ids.a)).quotas.tpm).toEqual({ limit: 10_000, used: 1500 });
      await select(project, { estimatedTokens: 4000 }).expect(200);
    });

    it('maxConcurrency is released by a report or by lease expiry', async () => {
      const { project, ids } = await scenario({ a: { maxConcurrency: 1 } }, { quotas: { leaseTtlMs: 2000 } });
      const first = (await select(project).expect(200)).body.data;
      const busy = await select(project).expect(429);
      expect(busy.body.details.retryAfterMs).toBe(2000);
      await report(project, ids.a, { success: true, selectionId: first.selectionId });
      await select(project).expect(200); // released by the report; this one is never reported
      await select(project).expect(429);
      gateway.clock.advance(2000);
      await select(project).expect(200); // released by expiry
      expect((await health(project, ids.a)).quotas.concurrency).toEqual({ limit: 1, open: 1 });
    });
  });

  describe('operator control and least-bad', () => {
    const circuit = (id: string, state: unknown) =>
      gateway.http().post(`/api/admin/instances/${id}/circuit`).set('authorization', `Bearer ${admin}`).send({ state });

    it('FORCED_OPEN keeps an instance out even when it is the last; AUTO brings it back', async () => {
      const { project, ids } = await scenario({ a: {} }, { whenAllUnavailable: 'least-bad' });
      const res = await circuit(ids.a, 'FORCED_OPEN').expect(200);
      expect(res.body.data).toMatchObject({ selectable: false, breaker: { state: 'FORCED_OPEN' } });
      const none = await select(project).expect(400);
      expect(none.body.error).toBe('NO_HEALTHY_INSTANCE');
      expect(none.body.details.retryAfterMs).toBeUndefined();
      await circuit(ids.a, 'AUTO').expect(200);
      await select(project).expect(200);
    });

    it('DISABLED keeps serving an instance whatever is reported', async () => {
      const { project, ids } = await scenario({ a: {} });
      await circuit(ids.a, 'DISABLED').expect(200);
      for (let i = 0; i < 20; i++) await report(project, ids.a, failure);
      expect((await select(project).expect(200)).body.data.businessId).toBe('a');
      expect((await health(project, ids.a)).breaker).toMatchObject({ state: 'DISABLED', reason: 'operator: DISABLED' });
    });

    it('least-bad returns the instance probed soonest, degraded, as a probe', async () => {
      const { project, ids } = await scenario({ a: {}, b: {} }, { whenAllUnavailable: 'least-bad' });
      for (let i = 0; i < 5; i++) await report(project, ids.a, failure);
      gateway.clock.advance(10_000);
      for (let i = 0; i < 5; i++) await report(project, ids.b, failure);
      const res = await select(project, { explain: true }).expect(200);
      expect(res.body.data).toMatchObject({ businessId: 'a', degraded: true });
      const candidates = res.body.data.explain.candidates as { chosen: boolean; reason?: string }[];
      const chosen = candidates.find((c) => c.chosen);
      expect(chosen?.reason).toBe('chosen: least-bad, nothing was selectable');
      expect((await health(project, ids.a)).breaker).toMatchObject({ state: 'HALF_OPEN', probesInFlight: 1 });
    });

    it('least-bad does not override the gateway’s own quotas', async () => {
      const { project } = await scenario({ a: { rpmLimit: 1 } }, { whenAllUnavailable: 'least-bad' });
      await select(project).expect(200);
      await select(project).expect(429);
    });

    it('rejects a bad state and an unknown instance, and needs an admin', async () => {
      const { project, ids } = await scenario({ a: {} });
      const bad = await circuit(ids.a, 'HALF_OPEN').expect(400);
      expect(bad.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'state' }] });
      await circuit('0'.repeat(32), 'AUTO').expect(404);
      await gateway
        .http()
        .post(`/api/admin/instances/${ids.a}/circuit`)
        .set('api-key', project.apiKey)
        .send({ state: 'AUTO' })
        .expect(401);
    });
  });

  describe('GET /api/instances/{id}/health', () => {
    it('shows state, window, quotas and leases; another project’s instance is 404', async () => {
      const { project, ids } = await scenario({ a: { rpmLimit: 100, tpmLimit: 5000, maxConcurrency: 4 } });
      await select(project, { estimatedTokens: 300 }).expect(200);
      await report(project, ids.a, { success: true, latencyMs: 250 });
      const view = await health(project, ids.a);
      expect(view).toMatchObject({
        instanceId: ids.a,
        status: 'ACTIVE',
        selectable: true,
        breaker: { state: 'CLOSED', window: { calls: 1, failures: 0, slow: 0 }, config: { consecutiveFailures: 5 } },
        quotas: {
          rpm: { limit: 100, used: 1 },
          tpm: { limit: 5000, used: 300 },
          concurrency: { limit: 4, open: 0 },
          coolDownUntil: null,
        },
        window: { calls: 1, successes: 1, byOutcome: { SUCCESS: 1 } },
        latencyMs: 250,
      });
      const other = await createProject(gateway, `Other ${++seq}`);
      const res = await gateway.http().get(`/api/instances/${ids.a}/health`).set('api-key', other.apiKey).expect(404);
      expect(res.body.error).toBe('INSTANCE_NOT_FOUND');
    });
  });
});

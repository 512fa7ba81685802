import { DataSource } from 'typeorm';
import { ApiKeyAuthenticator } from '../src/tenancy/api-key-authenticator';
import { countQueries, createProject, type TestProject } from './utils/fixtures';
import { modelInstance, postReport, registerInstances, selectInstance } from './utils/hot-path';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

describeEachDatabase('the decision loop', (database) => {
  let gateway: TestApp;
  let project: TestProject;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    gateway = await createTestApp({ database });
    project = await createProject(gateway, 'Decisions');
    const registered = await registerInstances(gateway, project, [
      modelInstance('primary-1', 'gpt-4o', { priority: 2 }),
      modelInstance('primary-2', 'gpt-4o', { priority: 2 }),
      modelInstance('secondary-1', 'gpt-4o', { priority: 1 }),
      modelInstance('claude-1', 'claude', {}),
      modelInstance('backup-only', 'backup', {}),
      // One instance per lease test, so that each starts with no lease open.
      modelInstance('solo-1', 'solo-1', { maxConcurrency: 1, timeoutMs: 10_000 }),
      modelInstance('solo-2', 'solo-2', { maxConcurrency: 1, timeoutMs: 10_000 }),
      modelInstance('solo-3', 'solo-3', { maxConcurrency: 1, timeoutMs: 10_000 }),
      modelInstance('sticky-1', 'sticky', {}),
      modelInstance('sticky-2', 'sticky', {}),
      modelInstance('sticky-3', 'sticky', {}),
    ]);
    for (const [businessId, id] of Object.entries(registered)) ids.set(businessId, id);
  });
  afterAll(() => gateway.close());

  const select = (body: Record<string, unknown>) => selectInstance(gateway, project, body);
  const setDefaultStrategy = (name: string) =>
    gateway
      .http()
      .patch('/api/projects/current/settings')
      .set('api-key', project.apiKey)
      .send({ defaultStrategy: name })
      .expect(200);
  const report = (body: Record<string, unknown>) => postReport(gateway, project, body);
  const lifecycle = (businessId: string, action: 'activate' | 'deactivate') =>
    gateway
      .http()
      .post(`/api/instances/MODEL/${businessId}/${action}`)
      .set('api-key', project.apiKey)
      .set('content-type', 'application/json')
      .expect(200);

  describe('the reference request shapes, as AgentX sends them', () => {
    it('select-instance', async () => {
      const res = await gateway
        .http()
        .post('/api/gateway/select-instance')
        .set('api-key', project.apiKey)
        .set('content-type', 'application/json')
        .send(
          '{"userId":null,"apiIdentifier":"gpt-4o","apiType":"MODEL","affinityKey":"conv-1","affinityType":"SESSION","fallbackChain":["claude"]}',
        )
        .expect(200);
      expect(res.body.code).toBe(200);
      expect(res.body.data).toMatchObject({
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        projectId: project.id,
        status: 'ACTIVE',
        strategy: 'smart',
        tier: 2,
        degraded: false,
        fallbackUsed: false,
        fallbackFrom: null,
        affinityBound: false,
      });
      expect(res.body.data.selectionId).toMatch(/^[0-9a-f]{32}$/);
      expect(['primary-1', 'primary-2']).toContain(res.body.data.businessId);
    });

    it('report-result', async () => {
      const res = await gateway
        .http()
        .post('/api/gateway/report-result')
        .set('api-key', project.apiKey)
        .set('content-type', 'application/json')
        .send(
          `{"instanceId":"${ids.get('primary-1')}","businessId":"primary-1","success":false,"latencyMs":1234,"errorMessage":"read ECONNRESET","callTimestamp":${gateway.clock.now()}}`,
        )
        .expect(200);
      // The reference answered no data; AgentX reads only the status. `counted` is ours (idempotence).
      expect(res.body).toEqual({
        code: 200,
        message: 'success',
        data: { counted: true },
        timestamp: gateway.clock.now(),
      });
    });
  });

  describe('tiers, fallback, exclusions', () => {
    it('serves the best tier, then a lower one flagged degraded', async () => {
      expect((await select({ apiIdentifier: 'gpt-4o', apiType: 'MODEL' }).expect(200)).body.data.tier).toBe(2);
      const primaries = [ids.get('primary-1'), ids.get('primary-2')];
      const degraded = await select({
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        excludeInstanceIds: primaries,
      }).expect(200);
      expect(degraded.body.data).toMatchObject({ businessId: 'secondary-1', tier: 1, degraded: true });
    });

    it('a tier taken out of service (INACTIVE) is not configured: the next one is not degraded', async () => {
      await lifecycle('primary-1', 'deactivate');
      await lifecycle('primary-2', 'deactivate');
      try {
        const res = await select({ apiIdentifier: 'gpt-4o', apiType: 'MODEL' }).expect(200);
        expect(res.body.data).toMatchObject({ businessId: 'secondary-1', tier: 1, degraded: false });
      } finally {
        await lifecycle('primary-1', 'activate');
        await lifecycle('primary-2', 'activate');
      }
    });

    it('walks the fallback chain, matching entries by apiIdentifier or businessId', async () => {
      const byIdentifier = await select({
        apiIdentifier: 'nothing',
        apiType: 'MODEL',
        fallbackChain: ['ghost', 'claude'],
      }).expect(200);
      expect(byIdentifier.body.data).toMatchObject({
        businessId: 'claude-1',
        fallbackUsed: true,
        fallbackFrom: 'nothing',
      });
      const byBusinessId = await select({
        apiIdentifier: 'nothing',
        apiType: 'MODEL',
        fallbackChain: ['backup-only'],
      }).expect(200);
      expect(byBusinessId.body.data).toMatchObject({ businessId: 'backup-only', fallbackUsed: true });
    });

    it('answers NO_AVAILABLE_INSTANCE and FALLBACK_EXHAUSTED', async () => {
      const none = await select({ apiIdentifier: 'nothing', apiType: 'MODEL' }).expect(400);
      expect(none.body.error).toBe('NO_AVAILABLE_INSTANCE');
      const excluded = [ids.get('claude-1')];
      const exhausted = await select({
        apiIdentifier: 'nothing',
        apiType: 'MODEL',
        fallbackChain: ['claude'],
        excludeInstanceIds: excluded,
      }).expect(400);
      expect(exhausted.body.error).toBe('FALLBACK_EXHAUSTED');
      expect(exhausted.body.details.tried).toEqual([
        { identifier: 'nothing', result: 'no active instance matches' },
        { identifier: 'claude', result: '1 not selectable: excluded by the request' },
      ]);
    });

    it('honours excludeInstanceIds, and answers NO_HEALTHY_INSTANCE when all are excluded', async () => {
      const res = await select({
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        excludeInstanceIds: [ids.get('primary-1')],
      }).expect(200);
      expect(res.body.data.businessId).toBe('primary-2');
      const all = [ids.get('primary-1'), ids.get('primary-2'), ids.get('secondary-1')];
      const none = await select({ apiIdentifier: 'gpt-4o', apiType: 'MODEL', excludeInstanceIds: all }).expect(400);
      expect(none.body.error).toBe('NO_HEALTHY_INSTANCE');
    });
  });

  describe('affinity', () => {
    it('PREFERRED sticks to the bound instance and rebinds when it goes away', async () => {
      const body = {
        apiIdentifier: 'sticky',
        apiType: 'MODEL',
        affinityKey: 'conv-42',
        affinityType: 'SESSION',
        strategy: 'round-robin',
      };
      const first = (await select(body).expect(200)).body.data;
      for (let i = 0; i < 5; i += 1) {
        const next = (await select(body).expect(200)).body.data;
        expect(next).toMatchObject({ id: first.id, affinityBound: true });
      }
      await lifecycle(first.businessId as string, 'deactivate');
      const rebound = (await select(body).expect(200)).body.data;
      expect(rebound.id).not.toBe(first.id);
      expect(rebound.affinityBound).toBe(false);
      expect((await select(body).expect(200)).body.data).toMatchObject({ id: rebound.id, affinityBound: true });
      await lifecycle(first.businessId as string, 'activate');
    });

    it('STRICT refuses when the bound instance is not selectable', async () => {
      const body = {
        apiIdentifier: 'sticky',
        apiType: 'MODEL',
        affinityKey: 'conv-strict',
        affinityStrength: 'STRICT',
      };
      const bound = (await select(body).expect(200)).body.data;
      const res = await select({ ...body, excludeInstanceIds: [bound.id] }).expect(400);
      expect(res.body.error).toBe('AFFINITY_UNAVAILABLE');
    });

    it('lives for its TTL after the last use (30 minutes by default), then binds anew', async () => {
      const body = { apiIdentifier: 'sticky', apiType: 'MODEL', affinityKey: 'conv-ttl', strategy: 'round-robin' };
      const first = (await select(body).expect(200)).body.data;
      expect(first.affinityBound).toBe(false);
      gateway.clock.advance(30 * 60_000 - 1);
      // Still bound one ms before the TTL; the use refreshes it.
      expect((await select(body).expect(200)).body.data).toMatchObject({ id: first.id, affinityBound: true });
      gateway.clock.advance(30 * 60_000 - 1);
      expect((await select(body).expect(200)).body.data).toMatchObject({ id: first.id, affinityBound: true });
      gateway.clock.advance(30 * 60_000);
      const later = (await select(body).expect(200)).body.data;
      expect(later.affinityBound).toBe(false);
      expect((await select(body).expect(200)).body.data).toMatchObject({ id: later.id, affinityBound: true });
    });
  });

  describe('leases', () => {
    const solo = (n: number) => ({ apiIdentifier: `solo-${n}`, apiType: 'MODEL' });

    it('a report with the selectionId frees the capacity', async () => {
      const lease = (await select(solo(1)).expect(200)).body.data;
      const full = await select(solo(1)).expect(429);
      expect(full.body).toMatchObject({ error: 'QUOTA_EXHAUSTED' });
      expect(full.headers['retry-after']).toBeDefined();
      await report({
        instanceId: lease.id,
        businessId: 'solo-1',
        success: true,
        latencyMs: 80,
        callTimestamp: gateway.clock.now(),
        selectionId: lease.selectionId,
      }).expect(200);
      await select(solo(1)).expect(200);
    });

    it('a report without selectionId closes the oldest lease of the instance', async () => {
      await select(solo(2)).expect(200);
      await select(solo(2)).expect(429);
      await report({
        instanceId: ids.get('solo-2'),
        businessId: 'solo-2',
        success: true,
        latencyMs: 5,
        callTimestamp: 0,
      }).expect(200);
      await select(solo(2)).expect(200);
    });

    it('an unreported lease expires after timeoutMs + 5 s', async () => {
      await select(solo(3)).expect(200);
      await select(solo(3)).expect(429);
      gateway.clock.advance(14_999);
      await select(solo(3)).expect(429);
      gateway.clock.advance(1);
      await select(solo(3)).expect(200);
    });
  });

  describe('strategies and explain', () => {
    it('uses the request strategy, then the project default, and refuses unknown ones', async () => {
      expect(
        (await select({ apiIdentifier: 'sticky', apiType: 'MODEL', strategy: 'least-busy' }).expect(200)).body.data
          .strategy,
      ).toBe('least-busy');
      await setDefaultStrategy('round-robin');
      expect((await select({ apiIdentifier: 'sticky', apiType: 'MODEL' }).expect(200)).body.data.strategy).toBe(
        'round-robin',
      );
      const unknown = await select({ apiIdentifier: 'sticky', apiType: 'MODEL', strategy: 'telepathy' }).expect(400);
      expect(unknown.body.error).toBe('UNKNOWN_STRATEGY');
      // Back to the gateway's default, for the tests that expect it.
      await setDefaultStrategy('smart');
    });

    it('explains every candidate and why it was or was not chosen', async () => {
      const res = await select({
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        explain: true,
        excludeInstanceIds: [ids.get('primary-2')],
      }).expect(200);
      const explain = res.body.data.explain as { tried: string[]; candidates: Record<string, unknown>[] };
      expect(explain.tried).toEqual(['gpt-4o']);
      const byBusiness = new Map(explain.candidates.map((c) => [c.businessId, c]));
      expect(byBusiness.get('primary-1')).toMatchObject({ chosen: true, selectable: true, priority: 2 });
      expect(byBusiness.get('primary-2')).toMatchObject({
        chosen: false,
        selectable: false,
        reason: 'excluded by the request',
      });
      expect(byBusiness.get('secondary-1')).toMatchObject({
        chosen: false,
        selectable: true,
        reason: 'lower tier (1 < 2)',
      });
    });
  });

  describe('bad input', () => {
    const fields = (res: { body: { details: { field: string }[] } }) => res.body.details.map((d) => d.field).sort();

    it('select: missing fields, wrong enum, wrong types → 400 naming them', async () => {
      expect(fields(await select({}).expect(400))).toEqual(['apiIdentifier', 'apiType']);
      expect(fields(await select({ apiIdentifier: 'x', apiType: 'ROCKET' }).expect(400))).toEqual(['apiType']);
      expect(
        fields(
          await select({ apiIdentifier: 'x', apiType: 'MODEL', fallbackChain: 'claude', estimatedTokens: -1 }).expect(
            400,
          ),
        ),
      ).toEqual(['estimatedTokens', 'fallbackChain']);
    });

    it('report: missing fields, negative latency, another project’s instance', async () => {
      expect(fields(await report({ success: true }).expect(400))).toEqual([
        'businessId',
        'callTimestamp',
        'instanceId',
        'latencyMs',
      ]);
      const negative = await report({
        instanceId: ids.get('claude-1'),
        businessId: 'claude-1',
        success: true,
        latencyMs: -5,
        callTimestamp: 1,
      });
      expect(negative.status).toBe(400);
      expect(fields(negative)).toEqual(['latencyMs']);
      const other = await createProject(gateway, 'Someone else');
      const foreign = await gateway
        .http()
        .post('/api/gateway/report-result')
        .set('api-key', other.apiKey)
        .send({
          instanceId: ids.get('claude-1'),
          businessId: 'claude-1',
          success: true,
          latencyMs: 5,
          callTimestamp: 1,
        })
        .expect(404);
      expect(foreign.body.error).toBe('INSTANCE_NOT_FOUND');
    });

    it('batch reports are all or nothing', async () => {
      const ok = {
        instanceId: ids.get('claude-1'),
        businessId: 'claude-1',
        success: true,
        latencyMs: 5,
        callTimestamp: 1,
      };
      const res = await gateway
        .http()
        .post('/api/gateway/report-results')
        .set('api-key', project.apiKey)
        .send({ results: [ok, { ...ok, instanceId: 'f'.repeat(32) }] })
        .expect(404);
      expect(res.body.details).toEqual([{ field: 'results.1.instanceId', message: expect.any(String) }]);
      await gateway
        .http()
        .post('/api/gateway/report-results')
        .set('api-key', project.apiKey)
        .send({ results: [ok, ok] })
        .expect(200);
    });
  });

  it('select and report touch no database after warm-up', async () => {
    await select({ apiIdentifier: 'claude', apiType: 'MODEL' }).expect(200);
    await gateway.app.get(ApiKeyAuthenticator).flushLastUsed();
    const queries = await countQueries(gateway.app.get(DataSource), async () => {
      for (let i = 0; i < 50; i += 1) {
        const chosen = (await select({ apiIdentifier: 'claude', apiType: 'MODEL' }).expect(200)).body.data;
        await report({
          instanceId: chosen.id,
          businessId: chosen.businessId,
          success: i % 3 !== 0,
          latencyMs: 100 + i,
          callTimestamp: gateway.clock.now(),
          selectionId: chosen.selectionId,
        }).expect(200);
      }
    });
    expect(queries).toBe(0);
  });
});

import { DataSource } from 'typeorm';
import { LeaseManager } from '../../src/protection/lease-manager';
import { ProjectEntity } from '../../src/tenancy/entities/project.entity';
import { adminToken, createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, registerInstances, reportResult, selectInstance } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/**
 * Issue #15, finding 3: leases are bounded. A tenant that selects without ever reporting held
 * 305k leases (+410 MiB), and `leaseTtlMs` / `timeoutMs` accepted an hour. Now each project holds
 * at most `GATEWAY_MAX_OPEN_LEASES_PER_PROJECT` open leases per node (429 LEASE_LIMIT_REACHED
 * beyond, for that project only) and a lease lives at most `GATEWAY_MAX_LEASE_TTL_MS`. Memory
 * only, so SQLite is enough; time is the app's fake clock.
 */
describe('abuse: open leases and their TTL are bounded', () => {
  let gateway: TestApp;
  let seq = 0;

  beforeAll(async () => {
    gateway = await createTestApp();
  });
  afterAll(() => gateway.close());

  /** A fresh project with one instance `a` of "model" (routing params as given); its instance id. */
  async function scenario(routingParams?: Record<string, unknown>): Promise<{ project: TestProject; id: string }> {
    const project = await createProject(gateway, `Leases ${++seq}`);
    const ids = await registerInstances(gateway, project, [modelInstance('a', 'model', routingParams)]);
    return { project, id: ids.a };
  }

  const select = (project: TestProject) =>
    selectInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL' });

  describe('open leases per project (default 50000)', () => {
    it('refuses the 50001st open lease of a project with 429 LEASE_LIMIT_REACHED, and only that project', async () => {
      const { project: hog, id } = await scenario();
      const { project: other } = await scenario();
      const leases = gateway.app.get(LeaseManager);
      const now = gateway.clock.now();
      // 49,999 leases as 49,999 unreported selects would open them (60 s TTL, the first one soonest to go)...
      leases.open({ projectId: hog.id, instanceId: id, ttlMs: 30_000, at: now });
      for (let i = 1; i < 49_999; i++) leases.open({ projectId: hog.id, instanceId: id, ttlMs: 60_000, at: now });
      // ...and the 50,000th over HTTP.
      const last = (await select(hog).expect(200)).body.data as { selectionId: string };

      const refused = await select(hog);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({
        code: 429,
        error: 'LEASE_LIMIT_REACHED',
        details: { limit: 50_000, retryAfterMs: 30_000 },
      });
      expect(refused.headers['retry-after']).toBe('30');
      expect(leases.openTotal).toBe(50_000);

      // Another tenant is not affected.
      await select(other).expect(200);

      // A report frees a slot at once; the earliest expiry frees one when it comes.
      await reportResult(gateway, hog, id, { success: true, selectionId: last.selectionId });
      await select(hog).expect(200);
      await select(hog).expect(429);
      gateway.clock.advance(29_999);
      expect((await select(hog).expect(429)).body.details.retryAfterMs).toBe(1);
      gateway.clock.advance(1);
      await select(hog).expect(200);
    });
  });

  describe('lease TTL (GATEWAY_MAX_LEASE_TTL_MS, default 900000)', () => {
    it('refuses a project leaseTtlMs above the bound with 400 naming the field and the bound', async () => {
      const project = await createProject(gateway, `Leases ${++seq}`);
      const res = await gateway
        .http()
        .patch('/api/projects/current/settings')
        .set('api-key', project.apiKey)
        .send({ quotas: { leaseTtlMs: 3_600_000 } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 400, error: 'VALIDATION_FAILED' });
      expect(res.body.details).toEqual([{ field: 'quotas.leaseTtlMs', message: expect.stringContaining('900000') }]);
      const huge = await gateway
        .http()
        .patch('/api/projects/current/settings')
        .set('api-key', project.apiKey)
        .send({ quotas: { leaseTtlMs: 1e12 } });
      expect(huge.body.details).toEqual([{ field: 'quotas.leaseTtlMs', message: expect.stringContaining('900000') }]);
      // At the bound it is accepted.
      await gateway
        .http()
        .patch('/api/projects/current/settings')
        .set('api-key', project.apiKey)
        .send({ quotas: { leaseTtlMs: 900_000 } })
        .expect(200);
    });

    it('refuses it in an admin project creation too', async () => {
      const admin = await adminToken(gateway);
      const res = await gateway
        .http()
        .post('/api/admin/projects')
        .set('authorization', `Bearer ${admin}`)
        .send({ name: 'Long leases', settings: { quotas: { leaseTtlMs: 3_600_000 } } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([
        { field: 'settings.quotas.leaseTtlMs', message: expect.stringContaining('900000') },
      ]);
    });

    it('refuses a routingParams.timeoutMs above the bound, in a batch and in an update', async () => {
      const project = await createProject(gateway, `Leases ${++seq}`);
      const batch = await gateway
        .http()
        .post('/api/instances/batch')
        .set('api-key', project.apiKey)
        .send({ instances: [modelInstance('ok'), modelInstance('slow', 'model', { timeoutMs: 3_600_000 })] });
      expect(batch.status).toBe(400);
      expect(batch.body.error).toBe('VALIDATION_FAILED');
      expect(batch.body.details).toEqual([
        { field: 'instances.1.routingParams.timeoutMs', message: expect.stringContaining('900000') },
      ]);
      await registerInstances(gateway, project, [modelInstance('ok', 'model', { timeoutMs: 900_000 })]);
      const update = await gateway
        .http()
        .put('/api/instances/MODEL/ok')
        .set('api-key', project.apiKey)
        .send({ apiIdentifier: 'model', routingParams: { timeoutMs: 900_001 } });
      expect(update.status).toBe(400);
      expect(update.body.details).toEqual([
        { field: 'routingParams.timeoutMs', message: expect.stringContaining('900000') },
      ]);
    });

    it('clamps a leaseTtlMs stored before the bound existed: the lease expires after 900 s, not an hour', async () => {
      const project = await createProject(gateway, `Leases ${++seq}`);
      // Stored as an older version accepted it, before the key's first authenticated use.
      await gateway.app
        .get(DataSource)
        .getRepository(ProjectEntity)
        .update(project.id, { settings: { quotas: { leaseTtlMs: 3_600_000 } } });
      await registerInstances(gateway, project, [modelInstance('a', 'model', { maxConcurrency: 1 })]);
      await select(project).expect(200);
      await select(project).expect(429);
      gateway.clock.advance(899_999);
      await select(project).expect(429);
      gateway.clock.advance(1);
      await select(project).expect(200);
    });

    it('clamps timeoutMs + 5 s at the bound: a timeoutMs at the bound leases for 900 s', async () => {
      const { project } = await scenario({ timeoutMs: 900_000, maxConcurrency: 1 });
      await select(project).expect(200);
      gateway.clock.advance(899_999);
      await select(project).expect(429);
      gateway.clock.advance(1);
      await select(project).expect(200);
    });
  });
});

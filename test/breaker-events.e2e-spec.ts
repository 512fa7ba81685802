import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { BreakerEventLog } from '../src/circuit-breaker/breaker-event-log';
import { BreakerEventsModule } from '../src/circuit-breaker/breaker-events.module';
import { type BreakerTransition, BreakerTransitions } from '../src/circuit-breaker/breaker-transition';
import { newId } from '../src/common/ids';
import { buildOpenApiDocument } from '../src/common/swagger';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { adminToken, createProject, type TestProject } from './utils/fixtures';
import { modelInstance, registerInstances } from './utils/hot-path';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase, type TestDatabase } from './utils/test-database';

const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

interface EventBody {
  id: string;
  projectId: string;
  instanceId: string;
  from: string;
  to: string;
  reason: string;
  actor: string;
  at: string;
}

describeEachDatabase('breaker events', (database) => {
  let gateway: TestApp;
  let token: string;
  let alpha: TestProject;
  let beta: TestProject;
  const a1 = newId();
  const a2 = newId();
  const b1 = newId();

  const emit = (transition: Omit<BreakerTransition, 'reason'> & { reason?: string }) =>
    gateway.app.get(BreakerTransitions).emit({ reason: `${transition.from} to ${transition.to}`, ...transition });
  const flush = () => gateway.app.get(BreakerEventLog).flush();
  const list = (query: Record<string, string | number> = {}) =>
    gateway.http().get('/api/admin/breaker-events').query(query).set('authorization', `Bearer ${token}`);
  const listed = async (query: Record<string, string | number> = {}) => {
    const res = await list(query).expect(200);
    return res.body.data as { items: EventBody[]; total: number; page: number; size: number };
  };
  const fieldsOf = (body: { details?: { field: string }[] }) => (body.details ?? []).map((detail) => detail.field);

  beforeAll(async () => {
    // A no-op once the app imports the module itself (CircuitBreakerModule does); kept so this
    // suite does not depend on that wiring.
    gateway = await createTestApp({ database, extra: { imports: [BreakerEventsModule] } });
    token = await adminToken(gateway);
    alpha = await createProject(gateway, 'Alpha');
    beta = await createProject(gateway, 'Beta');
    // Instance ids need no registered instance: the log outlives deleted instances.
    emit({
      projectId: alpha.id,
      instanceId: a1,
      from: 'CLOSED',
      to: 'OPEN',
      at: T0 + 1,
      reason: '5 consecutive SERVER_ERROR',
    });
    emit({ projectId: alpha.id, instanceId: a1, from: 'OPEN', to: 'HALF_OPEN', at: T0 + 1001 });
    emit({ projectId: alpha.id, instanceId: a1, from: 'HALF_OPEN', to: 'CLOSED', at: T0 + 2002 });
    emit({ projectId: alpha.id, instanceId: a2, from: 'CLOSED', to: 'FORCED_OPEN', at: T0 + 3003 });
    emit({ projectId: beta.id, instanceId: b1, from: 'CLOSED', to: 'OPEN', at: T0 + 4004 });
    await expect(flush()).resolves.toBe(5);
  });
  afterAll(() => gateway.close());

  it('lists every event newest first, with millisecond timestamps', async () => {
    const page = await listed();
    expect(page).toMatchObject({ total: 5, page: 1, size: 20 });
    expect(page.items.map((item) => item.at)).toEqual([iso(4004), iso(3003), iso(2002), iso(1001), iso(1)]);
    expect(page.items[4]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      projectId: alpha.id,
      instanceId: a1,
      from: 'CLOSED',
      to: 'OPEN',
      reason: '5 consecutive SERVER_ERROR',
      actor: 'system',
      at: '2026-01-01T12:00:00.001Z',
    });
  });

  it('filters by project, instance, target state and time range (both bounds inclusive)', async () => {
    expect((await listed({ projectId: alpha.id })).total).toBe(4);
    expect((await listed({ projectId: beta.id })).items.map((item) => item.instanceId)).toEqual([b1]);
    expect((await listed({ instanceId: a1 })).items.map((item) => item.to)).toEqual(['CLOSED', 'HALF_OPEN', 'OPEN']);
    expect((await listed({ state: 'OPEN' })).items.map((item) => item.instanceId)).toEqual([b1, a1]);
    expect((await listed({ state: 'OPEN', projectId: alpha.id })).total).toBe(1);
    expect((await listed({ state: 'DISABLED' })).total).toBe(0);
    const window = await listed({ since: iso(1001), until: iso(3003) });
    expect(window.items.map((item) => item.at)).toEqual([iso(3003), iso(2002), iso(1001)]);
    expect((await listed({ since: iso(1002) })).total).toBe(3);
    expect((await listed({ until: iso(1000) })).total).toBe(1);
    expect((await listed({ since: '2026-01-01T13:00:02.002+01:00', until: iso(2002) })).total).toBe(1);
  });

  it('pages', async () => {
    const first = await listed({ size: 2 });
    const third = await listed({ size: 2, page: 3 });
    expect(first).toMatchObject({ total: 5, page: 1, size: 2 });
    expect(first.items.map((item) => item.at)).toEqual([iso(4004), iso(3003)]);
    expect(third.items.map((item) => item.at)).toEqual([iso(1)]);
    expect((await listed({ size: 2, page: 4 })).items).toEqual([]);
  });

  it.each([
    [{ projectId: 'not-an-id' }, 'projectId'],
    [{ instanceId: a1.toUpperCase() }, 'instanceId'],
    [{ state: 'ASLEEP' }, 'state'],
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2026-01-01' }, 'since'],
    [{ until: '2026-01-01T12:00:00' }, 'until'],
    [{ until: '2026-02-30T12:00:00Z' }, 'until'],
    [{ since: iso(2000), until: iso(1000) }, 'since'],
    [{ size: 0 }, 'size'],
    [{ page: 'two' }, 'page'],
    [{ status: 'OPEN' }, 'status'],
  ])('rejects %j with 400 naming %s', async (query, field) => {
    const res = await list(query).expect(400);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(fieldsOf(res.body as { details?: { field: string }[] })).toEqual([field]);
  });

  it('is for admins only', async () => {
    const missing = await gateway.http().get('/api/admin/breaker-events').expect(401);
    expect(missing.body.error).toBe('ADMIN_TOKEN_MISSING');
    await gateway.http().get('/api/admin/breaker-events').set('api-key', alpha.apiKey).expect(401);
    await gateway.http().get('/api/admin/breaker-events').set('authorization', `Bearer ${alpha.apiKey}`).expect(401);
  });

  it('deleting a project deletes its events', async () => {
    const doomed = await createProject(gateway, 'Doomed');
    emit({ projectId: doomed.id, instanceId: newId(), from: 'CLOSED', to: 'OPEN', at: T0 + 5000 });
    await expect(flush()).resolves.toBe(1);
    expect((await listed({ projectId: doomed.id })).total).toBe(1);

    await gateway.http().delete(`/api/admin/projects/${doomed.id}`).set('authorization', `Bearer ${token}`).expect(200);
    expect((await listed({ projectId: doomed.id })).total).toBe(0);
    const rows: unknown[] = await gateway.app
      .get(DataSource)
      .query('SELECT id FROM breaker_events WHERE project_id = ?', [doomed.id]);
    expect(rows).toHaveLength(0);
    expect((await listed()).total).toBe(5);
  });

  it('discards queued events of a project deleted before the flush, and writes the rest', async () => {
    const gone = await createProject(gateway, 'Gone');
    await gateway.http().delete(`/api/admin/projects/${gone.id}`).set('authorization', `Bearer ${token}`).expect(200);
    emit({ projectId: gone.id, instanceId: newId(), from: 'CLOSED', to: 'OPEN', at: T0 + 6000 });
    emit({ projectId: alpha.id, instanceId: a2, from: 'FORCED_OPEN', to: 'CLOSED', at: T0 + 6001 });

    await expect(flush()).resolves.toBe(1);
    expect(gateway.app.get(BreakerEventLog).queued).toBe(0);
    const newest = (await listed({ size: 1 })).items[0];
    expect(newest).toMatchObject({ projectId: alpha.id, instanceId: a2, from: 'FORCED_OPEN', to: 'CLOSED' });
    expect((await listed({ projectId: gone.id })).total).toBe(0);
  });

  it('is documented: summary, filters, admin security', () => {
    const operation = (
      buildOpenApiDocument(gateway.app).paths['/api/admin/breaker-events'] as {
        get: { summary?: string; parameters: { name: string }[]; security: unknown[] };
      }
    ).get;
    expect(operation.summary).toMatch(/newest first/);
    // page/size come from PageQueryDto, which the swagger plugin does not see (not a *.dto.ts file).
    expect(operation.parameters.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['projectId', 'instanceId', 'state', 'since', 'until']),
    );
    expect(JSON.stringify(operation.security)).toContain('admin-jwt');
  });
});

describeEachDatabase('breaker events on a graceful stop', (database) => {
  const directory = mkdtempSync(join(tmpdir(), 'breaker-events-'));
  let env: Record<string, string> = {};
  /** The database outlives the app (a file for SQLite), so the test can look after the stop. */
  const lasting: TestDatabase = {
    name: database.name,
    prepare: async () => {
      // Once: a later app in this block opens the same database again (a restart).
      if (Object.keys(env).length === 0) {
        env =
          database.name === 'sqlite'
            ? { DATABASE_URL: '', GATEWAY_SQLITE_PATH: join(directory, 'gateway.sqlite') }
            : await database.prepare();
      }
      return env;
    },
    dispose: () => Promise.resolve(),
  };
  afterAll(async () => {
    await database.dispose();
    rmSync(directory, { recursive: true, force: true });
  });

  it('writes what is still queued before the database closes', async () => {
    const gateway = await createTestApp({ database: lasting });
    const project = await createProject(gateway, 'Stopping');
    const transitions = gateway.app.get(BreakerTransitions);
    for (let n = 0; n < 3; n += 1) {
      transitions.emit({
        projectId: project.id,
        instanceId: newId(),
        from: 'CLOSED',
        to: 'OPEN',
        reason: 'x',
        at: T0 + n,
      });
    }
    expect(gateway.app.get(BreakerEventLog).queued).toBe(3);
    await gateway.close();

    const dataSource = await new DataSource(
      dataSourceOptions(loadConfig({ LOG_LEVEL: 'silent', ...env }).database),
    ).initialize();
    try {
      const rows: unknown[] = await dataSource.query('SELECT id FROM breaker_events WHERE project_id = ?', [
        project.id,
      ]);
      expect(rows).toHaveLength(3);
    } finally {
      await dataSource.destroy();
    }
  });
  it("an operator's FORCED_OPEN and DISABLED survive a restart; AUTO ends an override", async () => {
    const first = await createTestApp({ database: lasting });
    const project = await createProject(first, 'Restarting');
    const ids = await registerInstances(
      first,
      project,
      ['forced', 'disabled', 'released'].map((businessId) => modelInstance(businessId)),
    );
    const token = await adminToken(first);
    const circuit = (gateway: TestApp, id: string, state: string) =>
      gateway
        .http()
        .post(`/api/admin/instances/${id}/circuit`)
        .set('authorization', `Bearer ${token}`)
        .send({ state })
        .expect(200);
    await circuit(first, ids.forced, 'FORCED_OPEN');
    await circuit(first, ids.disabled, 'DISABLED');
    await circuit(first, ids.released, 'FORCED_OPEN');
    first.clock.advance(1);
    await circuit(first, ids.released, 'AUTO');
    await first.close();

    const second = await createTestApp({ database: lasting });
    try {
      const state = async (id: string) =>
        (await second.http().get(`/api/instances/${id}/health`).set('api-key', project.apiKey).expect(200)).body.data
          .breaker.state as string;
      expect(await state(ids.forced)).toBe('FORCED_OPEN');
      expect(await state(ids.disabled)).toBe('DISABLED');
      expect(await state(ids.released)).toBe('CLOSED');
    } finally {
      await second.close();
    }
  });
});

import { DataSource } from 'typeorm';
import { ApiInstanceEntity } from '../src/registry/entities/api-instance.entity';
import { InstancesService } from '../src/registry/instances.service';
import { EventBus } from '../src/state/event-bus';
import { LeaseManager } from '../src/protection/lease-manager';
import { QuotaService } from '../src/rate-limit/quota.service';
import { RegistryIndex } from '../src/registry/registry-index';
import { readRoutingParams } from '../src/registry/routing-params';
import { InstanceStatsRegistry } from '../src/statistics/instance-stats-registry';
import { RegistryLoader } from '../src/registry/registry-loader';
import { adminToken, createProject, type TestProject } from './utils/fixtures';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

const businessIds = (items: { businessId: string }[]): string[] => items.map((item) => item.businessId);

describeEachDatabase('instance registry', (database) => {
  let gateway: TestApp;
  let project: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({ database });
    project = await createProject(gateway, 'Registry');
  });
  afterAll(() => gateway.close());

  /** A request exactly as AgentX's HTTP client sends it: JSON body with its content type. */
  const agentx = (method: 'post' | 'put' | 'delete', path: string, body?: string) => {
    const request = gateway.http()[method](path).set('api-key', project.apiKey).set('content-type', 'application/json');
    return body === undefined ? request : request.send(body);
  };
  const index = () => gateway.app.get(RegistryIndex);

  describe('the AgentX calls, byte for byte', () => {
    it('batch create', async () => {
      const body =
        '{"instances":[{"userId":"user-1","apiIdentifier":"gpt-4o","apiType":"MODEL","businessId":"model-101"},' +
        '{"userId":"user-1","apiIdentifier":"gpt-4o","apiType":"MODEL","businessId":"model-102"}]}';
      const res = await agentx('post', '/api/instances/batch', body).expect(200);
      expect(res.body.code).toBe(200);
      expect(res.body.data).toHaveLength(2);
      expect(res.body.data[0]).toMatchObject({
        userId: 'user-1',
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        businessId: 'model-101',
        status: 'ACTIVE',
        projectId: project.id,
        routingParams: {},
      });
      expect(index().candidates({ projectId: project.id, apiType: 'MODEL', identifier: 'gpt-4o' })).toHaveLength(2);
    });

    it('update with PUT /api/instances/MODEL/{id}, which keeps the status', async () => {
      await agentx('post', '/api/instances/MODEL/model-102/deactivate').expect(200);
      const res = await agentx(
        'put',
        '/api/instances/MODEL/model-102',
        '{"userId":"user-2","apiIdentifier":"gpt-4o-mini"}',
      ).expect(200);
      expect(res.body.data).toMatchObject({ userId: 'user-2', apiIdentifier: 'gpt-4o-mini', status: 'INACTIVE' });
    });

    it('activate and deactivate with an empty body and Content-Type: application/json', async () => {
      const off = await agentx('post', '/api/instances/MODEL/model-101/deactivate').expect(200);
      expect(off.body).toMatchObject({ code: 200, data: { status: 'INACTIVE' } });
      expect(index().candidates({ projectId: project.id, apiType: 'MODEL', identifier: 'gpt-4o' })).toHaveLength(0);
      const on = await agentx('post', '/api/instances/MODEL/model-101/activate').expect(200);
      expect(on.body.data.status).toBe('ACTIVE');
      expect(index().candidates({ projectId: project.id, apiType: 'MODEL', identifier: 'model-101' })).toHaveLength(1);
    });

    it('DELETE /api/instances/MODEL/{id}, idempotent', async () => {
      await agentx(
        'post',
        '/api/instances/batch',
        '{"instances":[{"apiIdentifier":"x","apiType":"MODEL","businessId":"model-del"}]}',
      );
      const res = await agentx('delete', '/api/instances/MODEL/model-del').expect(200);
      expect(res.body).toMatchObject({ code: 200, data: 1 });
      expect((await agentx('delete', '/api/instances/MODEL/model-del').expect(200)).body.data).toBe(0);
    });

    it('DELETE forgets the instance everywhere: its open leases, statistics and quota counters', async () => {
      const created = await agentx(
        'post',
        '/api/instances',
        '{"apiIdentifier":"forget-me","apiType":"MODEL","businessId":"model-forget","routingParams":{"rpmLimit":100}}',
      ).expect(200);
      const id = created.body.data.id as string;
      const select = () =>
        agentx('post', '/api/gateway/select-instance', '{"apiIdentifier":"forget-me","apiType":"MODEL"}').expect(200);
      const first = await select();
      await select();
      await agentx(
        'post',
        '/api/gateway/report-result',
        JSON.stringify({
          instanceId: id,
          businessId: 'model-forget',
          selectionId: first.body.data.selectionId,
          success: true,
          latencyMs: 40,
          callTimestamp: gateway.clock.now(),
        }),
      ).expect(200);
      const leases = gateway.app.get(LeaseManager);
      const stats = gateway.app.get(InstanceStatsRegistry);
      const quotas = gateway.app.get(QuotaService);
      const now = gateway.clock.now();
      expect(leases.openCount(id)).toBe(1);
      expect(stats.peek(id)).toBeDefined();
      expect(quotas.snapshot(id, readRoutingParams({ rpmLimit: 100 }), now).rpm.used).toBe(2);
      const unreportedBefore = leases.unreportedTotal;

      await agentx('delete', '/api/instances/MODEL/model-forget').expect(200);
      expect(leases.openCount(id)).toBe(0);
      expect(leases.unreportedTotal).toBe(unreportedBefore); // dropped, not counted as unreported
      expect(stats.peek(id)).toBeUndefined();
      expect(quotas.snapshot(id, readRoutingParams({ rpmLimit: 100 }), now).rpm.used).toBe(0);
    });

    it('DELETE /api/instances/batch with a JSON body', async () => {
      const res = await agentx(
        'delete',
        '/api/instances/batch',
        '{"instances":[{"apiType":"MODEL","businessId":"model-101"},{"apiType":"MODEL","businessId":"model-102"},{"apiType":"MODEL","businessId":"never"}]}',
      ).expect(200);
      expect(res.body).toMatchObject({ code: 200, data: 2 });
      expect(index().listByProject(project.id)).toHaveLength(0);
    });
  });

  describe('create', () => {
    it('registering again updates what was sent, keeps the rest and the status, and says which', async () => {
      const post = (body: object) =>
        gateway.http().post('/api/instances').set('api-key', project.apiKey).send(body).expect(200);
      const body = {
        apiIdentifier: 'sms',
        apiType: 'SMS_SERVICE',
        businessId: 'twilio-1',
        routingParams: { weight: 2 },
        metadata: { owner: 'team-a' },
        endpoint: 'https://api.twilio.example/v1',
      };
      const first = await post(body);
      expect(first.body.data).toMatchObject({ registration: 'created', endpoint: 'https://api.twilio.example/v1' });
      const id = first.body.data.id as string;

      const same = await post({ ...body, unknownField: 'ignored' });
      expect(same.body.data).toEqual({ ...first.body.data, registration: 'unchanged' });

      await gateway
        .http()
        .post('/api/instances/SMS_SERVICE/twilio-1/deactivate')
        .set('api-key', project.apiKey)
        .expect(200);
      // Only apiIdentifier (always sent) and routingParams: metadata and endpoint are kept.
      const changed = await post({
        apiIdentifier: 'sms',
        apiType: 'SMS_SERVICE',
        businessId: 'twilio-1',
        routingParams: { weight: 9 },
      });
      expect(changed.body.data).toMatchObject({
        id,
        registration: 'updated',
        routingParams: { weight: 9 },
        metadata: { owner: 'team-a' },
        endpoint: 'https://api.twilio.example/v1',
        status: 'INACTIVE',
      });
      expect(index().get(id)).toMatchObject({ routingParams: { weight: 9 }, status: 'INACTIVE' });

      // A client that serialises every field sends null for what it does not set: kept, not cleared.
      const nulls = await post({ ...body, userId: null, metadata: null, endpoint: null, routingParams: null });
      expect(nulls.body.data).toMatchObject({
        registration: 'unchanged',
        routingParams: { weight: 9 },
        metadata: { owner: 'team-a' },
        endpoint: 'https://api.twilio.example/v1',
      });
      expect(index().get(id)?.endpoint).toBe('https://api.twilio.example/v1');
    });

    it('a batch answers every distinct instance with its id and registration, in request order', async () => {
      const item = (businessId: string, apiIdentifier = 'mail') => ({
        apiIdentifier,
        apiType: 'EMAIL_SERVICE',
        businessId,
      });
      const res = await gateway
        .http()
        .post('/api/instances/batch')
        .set('api-key', project.apiKey)
        .send({ instances: [item('ses-1'), item('ses-1', 'other'), item('ses-2')] })
        .expect(200);
      expect(businessIds(res.body.data)).toEqual(['ses-1', 'ses-2']);
      expect(res.body.data[0]).toMatchObject({ apiIdentifier: 'mail', registration: 'created' });
      const ids = (res.body.data as { id: string }[]).map((item) => item.id);
      const again = await gateway
        .http()
        .post('/api/instances/batch')
        .set('api-key', project.apiKey)
        .send({ instances: [item('ses-3'), item('ses-2', 'mail-2'), item('ses-1')] })
        .expect(200);
      expect(
        (again.body.data as { businessId: string; registration: string }[]).map((item) => [
          item.businessId,
          item.registration,
        ]),
      ).toEqual([
        ['ses-3', 'created'],
        ['ses-2', 'updated'],
        ['ses-1', 'unchanged'],
      ]);
      expect(again.body.data[1]).toMatchObject({ id: ids[1], apiIdentifier: 'mail-2' });
      expect(again.body.data[2].id).toBe(ids[0]);
      expect(
        index().candidates({ projectId: project.id, apiType: 'EMAIL_SERVICE', identifier: 'mail-2' }),
      ).toHaveLength(1);
    });

    it('an endpoint must be an absolute http(s) URL of at most 2048 characters; PUT sets and clears it', async () => {
      const post = (endpoint: unknown) =>
        gateway
          .http()
          .post('/api/instances')
          .set('api-key', project.apiKey)
          .send({ apiIdentifier: 'ep', apiType: 'OTHER', businessId: 'ep-1', endpoint });
      for (const bad of ['ftp://x.example', '/v1/chat', 'not a url', 42, `https://x.example/${'a'.repeat(2048)}`]) {
        const res = await post(bad).expect(400);
        expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED' });
        expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'endpoint' })]));
      }
      await post('http://localhost:9000/v1').expect(200);
      const put = (endpoint: unknown) =>
        gateway
          .http()
          .put('/api/instances/OTHER/ep-1')
          .set('api-key', project.apiKey)
          .send({ apiIdentifier: 'ep', endpoint });
      expect((await put('https://backend.internal/v2').expect(200)).body.data.endpoint).toBe(
        'https://backend.internal/v2',
      );
      expect((await put(null).expect(200)).body.data.endpoint).toBeNull();
    });

    it('keeps unknown routingParams keys and types the known ones', async () => {
      const res = await gateway
        .http()
        .post('/api/instances')
        .set('api-key', project.apiKey)
        .send({
          apiIdentifier: 'img',
          apiType: 'IMAGE_PROCESSING',
          businessId: 'img-1',
          routingParams: { priority: 2, initial_weight: 0.5, region: 'eu', breaker: { consecutiveFailures: 3 } },
          metadata: { owner: 'team-a' },
        })
        .expect(200);
      expect(res.body.data.routingParams).toEqual({
        priority: 2,
        initial_weight: 0.5,
        region: 'eu',
        breaker: { consecutiveFailures: 3 },
      });
    });
  });

  describe('bad input: 400 naming the field, nothing written', () => {
    const rowCount = async (): Promise<number> => {
      const rows: { n: number | string }[] = await gateway.app
        .get(DataSource)
        .query('SELECT COUNT(*) AS n FROM api_instances');
      return Number(rows[0].n);
    };
    const post = (path: string, body: unknown) =>
      gateway
        .http()
        .post(path)
        .set('api-key', project.apiKey)
        .send(body as object);
    const fields = (res: { body: { details: { field: string }[] } }) => res.body.details.map((d) => d.field).sort();

    it.each([
      ['a wrong enum', { apiIdentifier: 'a', apiType: 'ROCKET', businessId: 'b' }, ['apiType']],
      ['missing fields', { apiType: 'MODEL' }, ['apiIdentifier', 'businessId']],
      [
        'a wrong routingParams type',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', routingParams: { weight: 'heavy' } },
        ['routingParams.weight'],
      ],
      [
        'a negative cost',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', routingParams: { cost_per_unit: -1 } },
        ['routingParams.cost_per_unit'],
      ],
      [
        'a fractional rpmLimit',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', routingParams: { rpmLimit: 1.5 } },
        ['routingParams.rpmLimit'],
      ],
      [
        'a bad breaker override',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', routingParams: { breaker: { halfOpenProbes: 0 } } },
        ['routingParams.breaker.halfOpenProbes'],
      ],
      [
        'oversized metadata',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', metadata: { blob: 'x'.repeat(17 * 1024) } },
        ['metadata'],
      ],
      [
        'metadata that is not an object',
        { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', metadata: [1, 2] },
        ['metadata'],
      ],
    ])('%s', async (_name, body, expected) => {
      const before = await rowCount();
      const res = await post('/api/instances', body).expect(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
      expect(fields(res)).toEqual(expected);
      expect(await rowCount()).toBe(before);
    });

    it('more items than a project may hold (GATEWAY_MAX_INSTANCES_PER_PROJECT, 5000)', async () => {
      const instances = Array.from({ length: 5001 }, (_, i) => ({
        apiIdentifier: 'a',
        apiType: 'MODEL',
        businessId: `b${i}`,
      }));
      const res = await post('/api/instances/batch', { instances }).expect(400);
      expect(fields(res)).toEqual(['instances']);
    });

    it('a failing item fails the whole batch, and its index is named', async () => {
      const before = await rowCount();
      const shape = await post('/api/instances/batch', {
        instances: [
          { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'ok-1' },
          { apiIdentifier: 'a', apiType: 'MODL', businessId: 'ok-2' },
          { apiIdentifier: '', apiType: 'MODEL', businessId: 'ok-3' },
        ],
      }).expect(400);
      expect(fields(shape)).toEqual(['instances.1.apiType', 'instances.2.apiIdentifier']);
      const json = await post('/api/instances/batch', {
        instances: [
          { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'ok-1' },
          { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'ok-2', routingParams: { maxConcurrency: 0 } },
          { apiIdentifier: 'a', apiType: 'MODEL', businessId: 'ok-3', metadata: { blob: 'x'.repeat(17 * 1024) } },
        ],
      }).expect(400);
      expect(fields(json)).toEqual(['instances.1.routingParams.maxConcurrency', 'instances.2.metadata']);
      expect(await rowCount()).toBe(before);
    });

    it('an unknown apiType in the path and an unknown instance', async () => {
      const bad = await gateway
        .http()
        .post('/api/instances/ROCKET/x/activate')
        .set('api-key', project.apiKey)
        .expect(400);
      expect(fields(bad)).toEqual(['apiType']);
      const missing = await gateway
        .http()
        .post('/api/instances/MODEL/nope/activate')
        .set('api-key', project.apiKey)
        .expect(404);
      expect(missing.body.error).toBe('INSTANCE_NOT_FOUND');
    });
  });

  describe('reads', () => {
    it('lists with filters and paging, gets by id, and reports health', async () => {
      const created = await gateway
        .http()
        .post('/api/instances/batch')
        .set('api-key', project.apiKey)
        .send({
          instances: [1, 2, 3].map((n) => ({
            apiIdentifier: 'pay',
            apiType: 'PAYMENT_GATEWAY',
            businessId: `pay-${n}`,
          })),
        })
        .expect(200);
      await gateway
        .http()
        .post('/api/instances/PAYMENT_GATEWAY/pay-3/deprecate')
        .set('api-key', project.apiKey)
        .expect(200);
      const page = await gateway
        .http()
        .get('/api/instances?apiType=PAYMENT_GATEWAY&status=ACTIVE&size=1&page=2')
        .set('api-key', project.apiKey)
        .expect(200);
      expect(page.body.data).toMatchObject({ total: 2, page: 2, size: 1 });
      expect(page.body.data.items).toHaveLength(1);

      const id = created.body.data[2].id as string;
      const one = await gateway.http().get(`/api/instances/${id}`).set('api-key', project.apiKey).expect(200);
      expect(one.body.data).toMatchObject({ businessId: 'pay-3', status: 'DEPRECATED' });
      const health = await gateway.http().get(`/api/instances/${id}/health`).set('api-key', project.apiKey).expect(200);
      expect(health.body.data).toMatchObject({ instanceId: id, selectable: false, reason: 'status DEPRECATED' });
    });
  });

  describe('the index', () => {
    it('warms from the database to exactly what is stored', async () => {
      const stored: { id: string }[] = await gateway.app.get(DataSource).query('SELECT id FROM api_instances');
      expect(stored.length).toBeGreaterThan(0);
      index().replaceAll([]);
      await gateway.app.get(RegistryLoader).load();
      expect(index().size).toBe(stored.length);
      for (const { id } of stored) expect(index().get(id)?.id).toBe(id);
    });
  });

  describe('admin', () => {
    it('queries across projects and writes for any project', async () => {
      const token = await adminToken(gateway);
      const auth = { authorization: `Bearer ${token}` };
      const other = await createProject(gateway, 'Other');
      const created = await gateway
        .http()
        .post('/api/admin/instances')
        .set(auth)
        .send({ projectId: other.id, apiIdentifier: 'fs', apiType: 'FILE_STORAGE', businessId: 's3-1' })
        .expect(200);
      const id = created.body.data.id as string;
      expect(index().get(id)?.projectId).toBe(other.id);

      const withProjects = await gateway
        .http()
        .get(`/api/admin/instances/with-projects?projectId=${other.id}`)
        .set(auth)
        .expect(200);
      expect(withProjects.body.data.items[0]).toMatchObject({ id, projectName: 'Other' });
      expect(
        (await gateway.http().get(`/api/admin/instances/project/${other.id}`).set(auth).expect(200)).body.data.total,
      ).toBe(1);
      expect(
        (await gateway.http().get('/api/admin/instances/type/FILE_STORAGE').set(auth).expect(200)).body.data.total,
      ).toBe(1);
      expect(
        (await gateway.http().get('/api/admin/instances/business/s3-1').set(auth).expect(200)).body.data.total,
      ).toBe(1);
      expect(
        (await gateway.http().get('/api/admin/instances/status/ACTIVE').set(auth).expect(200)).body.data.total,
      ).toBeGreaterThan(0);
      await gateway.http().get('/api/admin/instances/status/ASLEEP').set(auth).expect(400);

      await gateway.http().put(`/api/admin/instances/${id}`).set(auth).send({ apiIdentifier: 'fs2' }).expect(200);
      expect(index().get(id)?.apiIdentifier).toBe('fs2');
      await gateway.http().delete(`/api/admin/instances/${id}`).set(auth).expect(200);
      expect(index().get(id)).toBeUndefined();
      await gateway.http().get(`/api/admin/instances/${id}`).set(auth).expect(404);
    });

    it('deleting a project removes its instances from the database and the index', async () => {
      const token = await adminToken(gateway);
      const doomed = await createProject(gateway, 'Doomed');
      const res = await gateway
        .http()
        .post('/api/instances')
        .set('api-key', doomed.apiKey)
        .send({ apiIdentifier: 'x', apiType: 'OTHER', businessId: 'x-1' })
        .expect(200);
      await gateway
        .http()
        .delete(`/api/admin/projects/${doomed.id}`)
        .set('authorization', `Bearer ${token}`)
        .expect(200);
      expect(index().get(res.body.data.id as string)).toBeUndefined();
      const rows: unknown[] = await gateway.app
        .get(DataSource)
        .query('SELECT id FROM api_instances WHERE project_id = ?', [doomed.id]);
      expect(rows).toHaveLength(0);
    });
  });

  describe('a registration racing other writes (SQLite writes a batch 200 rows per transaction)', () => {
    /** A batch of 201 new instances and a change to an existing `x`, with `between` run after its first chunk. */
    async function raceBetweenChunks(tag: string, between: () => Promise<unknown>) {
      const x = { apiType: 'MODEL', apiIdentifier: `${tag}-old`, businessId: `${tag}-x` };
      await gateway
        .http()
        .post('/api/instances')
        .set('api-key', project.apiKey)
        .send({ ...x, metadata: { v: 1 } });
      const fresh = Array.from({ length: 201 }, (_, i) => ({
        apiType: 'MODEL',
        apiIdentifier: tag,
        businessId: `${tag}-${i}`,
      }));
      let ran: Promise<unknown> | undefined;
      const off = gateway.app.get<EventBus>(EventBus).subscribe('instances.changed', () => void (ran ??= between()));
      const res = await gateway
        .http()
        .post('/api/instances/batch')
        .set('api-key', project.apiKey)
        .send({ instances: [...fresh, { ...x, apiIdentifier: `${tag}-new` }] })
        .expect(200);
      off();
      await ran;
      const row = await gateway.app
        .get(DataSource)
        .getRepository(ApiInstanceEntity)
        .findOneBy({ businessId: x.businessId });
      const answer = res.body.data[201] as { id: string; registration: string };
      return { answer, row, indexed: index().get(answer.id) };
    }

    it('a PUT of another field meanwhile is kept: the registration writes only what it sent', async () => {
      const { answer, row, indexed } = await raceBetweenChunks('lost', () =>
        gateway.app
          .get(InstancesService)
          .update(project.id, 'MODEL', 'lost-x', { apiIdentifier: 'lost-old', metadata: { v: 2 } }),
      );
      if (database.name === 'mysql') return; // one transaction: the PUT waits or goes first; nothing to race
      expect(answer.registration).toBe('updated');
      expect(row).toMatchObject({ apiIdentifier: 'lost-new', metadataJson: '{"v":2}' });
      expect(indexed).toMatchObject({ apiIdentifier: 'lost-new', metadata: { v: 2 } });
    });

    it('a DELETE meanwhile: registering means it exists again, in the database and the index alike', async () => {
      const { answer, row, indexed } = await raceBetweenChunks('ghost', () =>
        gateway.app.get(InstancesService).delete(project.id, { apiType: 'MODEL', businessId: 'ghost-x' }),
      );
      expect(row === null).toBe(indexed === undefined);
      if (database.name === 'mysql') return;
      expect(answer.registration).toBe('created');
      expect(row).toMatchObject({ id: answer.id, apiIdentifier: 'ghost-new', status: 'ACTIVE' });
    });
  });
});

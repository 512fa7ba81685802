import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DataSource } from 'typeorm';
import { RegistryIndex } from '../../src/registry/registry-index';
import { RegistryLoader } from '../../src/registry/registry-loader';
import { createProject, type TestProject } from '../utils/fixtures';
import { createTestApp, type TestApp } from '../utils/test-app';
import { describeEachDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15: finding 2 (per-project instance cap, keys and depth of `metadata` / `routingParams`,
 * a compact in-memory form), the AgentX batch (every model of every user in one batch), and
 * finding 11 (c) `routingParams: null` on update and (d) business ids differing by case or
 * trailing space on MySQL.
 */

const CAP = 1100;

/** What AgentX's start-up sync sends for one model of one user. */
const agentxModel = (i: number, prefix = 'model') => ({
  userId: `user-${i % 37}`,
  apiIdentifier: `gpt-${i % 41}`,
  apiType: 'MODEL',
  businessId: `${prefix}-${100000 + i}`,
  routingParams: { priority: i % 3, weight: 1 + (i % 5) },
  metadata: { provider: 'openai', baseUrl: `https://api-${i % 7}.example.com/v1`, contextWindow: 128000 },
});

/** An object nested `depth` levels deep (the outer one is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level++) value = { n: value };
  return value;
}

/** One sink for every app of this file: the logger keeps the destination it was first given. */
const capture = new LogCapture();

/** The fields an error answer names, in order. */
const fieldsOf = (res: { body: { details: { field: string }[] } }): string[] => res.body.details.map((d) => d.field);

/** The business ids of a page of instances, in order. */
const businessIdsOf = (res: { body: { data: { items: { businessId: string }[] } } }): string[] =>
  res.body.data.items.map((item) => item.businessId);

describeEachDatabase('abuse: registry (issue #15)', (database) => {
  let gateway: TestApp;
  let agentx: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({
      database,
      env: { GATEWAY_MAX_INSTANCES_PER_PROJECT: String(CAP), LOG_LEVEL: 'debug' },
      logDestination: capture,
    });
    agentx = await createProject(gateway, 'AgentX');
  });
  afterAll(() => gateway.close());

  const send = (project: TestProject, method: 'post' | 'put' | 'delete', path: string, body?: unknown) => {
    const request = gateway.http()[method](path).set('api-key', project.apiKey);
    return body === undefined ? request : request.send(body as object);
  };
  const rows = async (project: TestProject): Promise<number> => {
    const found: { n: number | string }[] = await gateway.app
      .get(DataSource)
      .query('SELECT COUNT(*) AS n FROM api_instances WHERE project_id = ?', [project.id]);
    return Number(found[0].n);
  };
  const held = (project: TestProject): number => gateway.app.get(RegistryIndex).listByProject(project.id).length;

  describe('the AgentX batch', () => {
    it('accepts every model of every user in one batch (1006 instances)', async () => {
      const instances = Array.from({ length: 1006 }, (_, i) => agentxModel(i));
      const res = await send(agentx, 'post', '/api/instances/batch', { instances });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(1006);
      expect(res.body.data[1005]).toMatchObject({ businessId: 'model-101005', status: 'ACTIVE' });
      expect(await rows(agentx)).toBe(1006);
      expect(held(agentx)).toBe(1006);
      const again = await send(agentx, 'post', '/api/instances/batch', { instances }).expect(200);
      expect(again.body.data).toEqual([]);
    });

    it('a batch of 1006 with one bad item writes nothing and names the item', async () => {
      const project = await createProject(gateway, 'One bad item');
      const instances = Array.from({ length: 1006 }, (_, i) => agentxModel(i));
      instances[1005] = { ...instances[1005], apiType: 'ROCKET' };
      const shape = await send(project, 'post', '/api/instances/batch', { instances }).expect(400);
      expect(fieldsOf(shape)).toEqual(['instances.1005.apiType']);
      instances[1005] = { ...agentxModel(1005), routingParams: { weight: -1, priority: 0 } };
      const json = await send(project, 'post', '/api/instances/batch', { instances }).expect(400);
      expect(fieldsOf(json)).toEqual(['instances.1005.routingParams.weight']);
      expect(await rows(project)).toBe(0);
      expect(held(project)).toBe(0);
    });

    it('does not hold the event loop while it works (no stall over 250 ms)', async () => {
      const project = await createProject(gateway, 'Event loop');
      const instances = Array.from({ length: 1006 }, (_, i) => agentxModel(i, 'loop'));
      let longest = 0;
      let last = performance.now();
      let ticking = true;
      const tick = (): void => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const res = await send(project, 'post', '/api/instances/batch', { instances });
      ticking = false;
      expect(res.status).toBe(200);
      expect(longest).toBeLessThan(250);
    });

    it('deletes as many as the project may hold in one batch', async () => {
      const keys = Array.from({ length: 1006 }, (_, i) => ({ apiType: 'MODEL', businessId: `loop-${100000 + i}` }));
      const project = await createProject(gateway, 'Deleter');
      await send(project, 'post', '/api/instances/batch', {
        instances: keys.map((key, i) => ({ ...agentxModel(i), ...key })),
      }).expect(200);
      const res = await send(project, 'delete', '/api/instances/batch', { instances: keys }).expect(200);
      expect(res.body.data).toBe(1006);
      expect(await rows(project)).toBe(0);
    });

    it('more items than a project may hold: 400 on instances; the OpenAPI maxItems says the same', async () => {
      const project = await createProject(gateway, 'Too many');
      const instances = Array.from({ length: CAP + 1 }, (_, i) => agentxModel(i));
      const create = await send(project, 'post', '/api/instances/batch', { instances }).expect(400);
      expect(create.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'instances' }] });
      const keys = instances.map(({ apiType, businessId }) => ({ apiType, businessId }));
      const remove = await send(project, 'delete', '/api/instances/batch', { instances: keys }).expect(400);
      expect(remove.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'instances' }] });
      const doc = (await gateway.http().get('/api/docs-json').expect(200)).body;
      expect(doc.components.schemas.BatchCreateInstancesDto.properties.instances.maxItems).toBe(CAP);
      expect(doc.components.schemas.BatchDeleteInstancesDto.properties.instances.maxItems).toBe(CAP);
    });
  });

  describe('the per-project instance cap (finding 2)', () => {
    it('refuses a batch beyond the cap whole: 409 INSTANCE_LIMIT_REACHED, nothing written', async () => {
      const res = await send(agentx, 'post', '/api/instances/batch', {
        instances: Array.from({ length: CAP - 1006 + 1 }, (_, i) => agentxModel(i, 'extra')),
      });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 409,
        error: 'INSTANCE_LIMIT_REACHED',
        details: { limit: CAP, current: 1006, requested: CAP - 1006 + 1 },
      });
      expect(await rows(agentx)).toBe(1006);
      expect(held(agentx)).toBe(1006);
    });

    it('fills up to the cap exactly; then one more is 409, an existing one is still 200', async () => {
      await send(agentx, 'post', '/api/instances/batch', {
        instances: Array.from({ length: CAP - 1006 }, (_, i) => agentxModel(i, 'extra')),
      }).expect(200);
      expect(await rows(agentx)).toBe(CAP);
      const one = await send(agentx, 'post', '/api/instances', agentxModel(1, 'over'));
      expect(one.status).toBe(409);
      expect(one.body.details).toEqual({ limit: CAP, current: CAP, requested: 1 });
      await send(agentx, 'post', '/api/instances', agentxModel(1)).expect(200);
    });

    it('counts INACTIVE instances; a deletion frees room; other projects are not affected', async () => {
      await send(agentx, 'post', '/api/instances/MODEL/model-100001/deactivate').expect(200);
      await send(agentx, 'post', '/api/instances', agentxModel(2, 'over')).expect(409);
      const other = await createProject(gateway, 'Neighbour');
      await send(other, 'post', '/api/instances', agentxModel(2, 'over')).expect(200);
      await send(agentx, 'delete', '/api/instances/MODEL/model-100001').expect(200);
      await send(agentx, 'post', '/api/instances', agentxModel(2, 'over')).expect(200);
      expect(await rows(agentx)).toBe(CAP);
    });

    it('concurrent batches never take a project past its cap', async () => {
      const project = await createProject(gateway, 'Racing');
      const results = await Promise.all(
        [0, 1, 2, 3].map((n) =>
          send(project, 'post', '/api/instances/batch', {
            instances: Array.from({ length: 500 }, (_, i) => agentxModel(n * 1000 + i, 'race')),
          }),
        ),
      );
      const statuses = results.map((res) => res.status).sort();
      expect(statuses).toEqual([200, 200, 409, 409]);
      expect(await rows(project)).toBe(1000);
      expect(held(project)).toBe(1000);
    });
  });

  describe('keys and depth of metadata and routingParams (finding 2)', () => {
    const wide = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
    let project: TestProject;

    beforeAll(async () => {
      project = await createProject(gateway, 'Shapes');
    });

    it('128 keys per object and 8 levels are accepted', async () => {
      await send(project, 'post', '/api/instances', {
        apiIdentifier: 'shape',
        apiType: 'OTHER',
        businessId: 'at-the-limits',
        metadata: { a: wide(128), deep: nested(7) },
        routingParams: { ...wide(126), weight: 1, deep: nested(7) },
      }).expect(200);
    });

    it.each([
      ['129 keys in a nested metadata object', { metadata: { a: { b: wide(129) } } }, 'metadata.a.b'],
      ['129 keys in routingParams itself', { routingParams: wide(129) }, 'routingParams'],
      ['metadata 9 levels deep', { metadata: { a: nested(8) } }, 'metadata.a.n.n.n.n.n.n.n'],
      [
        'routingParams 9 levels deep through an array',
        { routingParams: { list: [nested(7)] } },
        'routingParams.list.0.n.n.n.n.n.n',
      ],
    ])('%s: 400 VALIDATION_FAILED naming the path', async (_name, json, field) => {
      const res = await send(project, 'post', '/api/instances', {
        apiIdentifier: 'shape',
        apiType: 'OTHER',
        businessId: 'too-much',
        ...json,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
      expect(fieldsOf(res)).toEqual([field]);
    });

    it('in a batch and on update, with the item named', async () => {
      const batch = await send(project, 'post', '/api/instances/batch', {
        instances: [
          { apiIdentifier: 'shape', apiType: 'OTHER', businessId: 'ok' },
          { apiIdentifier: 'shape', apiType: 'OTHER', businessId: 'wide', metadata: { x: wide(200) } },
        ],
      }).expect(400);
      expect(fieldsOf(batch)).toEqual(['instances.1.metadata.x']);
      const update = await send(project, 'put', '/api/instances/OTHER/at-the-limits', {
        apiIdentifier: 'shape',
        metadata: nested(9),
      }).expect(400);
      expect(fieldsOf(update)).toEqual(['metadata.n.n.n.n.n.n.n.n']);
    });
  });

  describe('PUT with null JSON (finding 11c)', () => {
    it('routingParams: null is 400 on routingParams; metadata: null clears the metadata', async () => {
      const project = await createProject(gateway, 'Nulls');
      await send(project, 'post', '/api/instances', {
        apiIdentifier: 'n',
        apiType: 'OTHER',
        businessId: 'nulls',
        routingParams: { weight: 2 },
        metadata: { owner: 'a' },
      }).expect(200);
      const bad = await send(project, 'put', '/api/instances/OTHER/nulls', { apiIdentifier: 'n', routingParams: null });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'routingParams' }] });
      const cleared = await send(project, 'put', '/api/instances/OTHER/nulls', { apiIdentifier: 'n', metadata: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.data).toMatchObject({ routingParams: { weight: 2 }, metadata: null });
    });
  });

  describe('business ids that differ by case or trailing space (finding 11d)', () => {
    it('are distinct instances, on MySQL as on SQLite; each route reaches exactly its own', async () => {
      const project = await createProject(gateway, 'Case');
      const ids = ['Model-A', 'model-a', 'model-a ', 'MODEL-A'];
      for (const businessId of ids) {
        const res = await send(project, 'post', '/api/instances', {
          apiIdentifier: businessId.trim() === 'Model-A' ? 'GPT-4o' : 'gpt-4o',
          apiType: 'MODEL',
          businessId,
        });
        expect(res.status).toBe(200);
        expect(res.body.data.businessId).toBe(businessId);
      }
      expect(await rows(project)).toBe(4);
      const updated = await send(project, 'put', `/api/instances/MODEL/${encodeURIComponent('model-a')}`, {
        apiIdentifier: 'renamed',
      }).expect(200);
      expect(updated.body.data.businessId).toBe('model-a');
      const list = await gateway
        .http()
        .get('/api/instances?businessId=model-a&apiIdentifier=renamed')
        .set('api-key', project.apiKey)
        .expect(200);
      expect(businessIdsOf(list)).toEqual(['model-a']);
      const byIdentifier = await gateway
        .http()
        .get('/api/instances?apiIdentifier=gpt-4o')
        .set('api-key', project.apiKey)
        .expect(200);
      expect(businessIdsOf(byIdentifier).sort()).toEqual(['MODEL-A', 'model-a ']);
    });

    (database.name === 'mysql' ? it : it.skip)(
      'a server whose binary collation pads spaces: a clash is 409 INSTANCE_CONFLICT naming businessId',
      async () => {
        const project = await createProject(gateway, 'Padded');
        const dataSource = gateway.app.get(DataSource);
        // Keys only a trailing space tells apart cannot share a padding unique key: drop them first.
        await dataSource.query("DELETE FROM api_instances WHERE business_id LIKE '% '");
        await dataSource.query(
          'ALTER TABLE api_instances MODIFY business_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
        );
        await send(project, 'post', '/api/instances', {
          apiIdentifier: 'p',
          apiType: 'MODEL',
          businessId: 'pad',
        }).expect(200);
        const clash = await send(project, 'post', '/api/instances', {
          apiIdentifier: 'p',
          apiType: 'MODEL',
          businessId: 'pad ',
        });
        expect(clash.status).toBe(409);
        expect(clash.body).toMatchObject({ error: 'INSTANCE_CONFLICT', details: { businessId: 'pad ' } });
        const batch = await send(project, 'post', '/api/instances/batch', {
          instances: [{ apiIdentifier: 'p', apiType: 'MODEL', businessId: 'pad  ' }],
        });
        expect(batch.status).toBe(409);
        expect(await rows(project)).toBe(1);
      },
    );
  });

  describe('a compact in-memory form (finding 2)', () => {
    /** ~25 KB of JSON: 2,000 keys unique to the instance (no shared shapes), ≤ 80 per object. */
    const fat = (n: number) => {
      const group = (prefix: string) =>
        Object.fromEntries(
          Array.from({ length: 80 }, (_, k) => [`${n.toString(36).padStart(3, '0')}${prefix}${k}`, k % 10]),
        );
      return {
        metadata: Object.fromEntries(Array.from({ length: 15 }, (_, g) => [`g${g}`, group(`m${g}_`)])),
        routingParams: {
          weight: 1,
          ...Object.fromEntries(Array.from({ length: 9 }, (_, g) => [`r${g}`, group(`r${g}_`)])),
        },
      };
    };

    const registerFat = async (project: TestProject, from: number, count: number): Promise<void> => {
      const instances = Array.from({ length: count }, (_, k) => ({
        apiIdentifier: 'fat',
        apiType: 'OTHER',
        businessId: `fat-${from + k}`,
        ...fat(from + k),
      }));
      // Injected rather than sent over a socket: the in-process HTTP client keeps buffers of its own
      // alive for a while, which would be counted as the gateway's.
      const res = await gateway.app
        .getHttpAdapter()
        .getInstance()
        .inject({
          method: 'POST',
          url: '/api/instances/batch',
          headers: { 'api-key': project.apiKey },
          payload: { instances },
        });
      expect(res.statusCode).toBe(200);
    };

    (database.name === 'sqlite' ? it : it.skip)(
      'an instance holds at most 3× its JSON in heap, registered and after a restart',
      async () => {
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as () => void;
        // Several collections: V8 keeps the hidden classes of dead objects for a few more.
        const heap = (): number => {
          for (let i = 0; i < 6; i++) gc();
          return process.memoryUsage().heapUsed;
        };
        const project = await createProject(gateway, 'Fat');
        const count = 200;
        const jsonBytes = Buffer.byteLength(JSON.stringify(fat(0)));
        const before = heap();
        // Each batch is built and sent by a function of its own: no frame of this one keeps it alive.
        for (let i = 0; i < count; i += 50) await registerFat(project, i, 50);
        const registered = (heap() - before) / count;
        await gateway.app.get(RegistryLoader).load();
        const restarted = (heap() - before) / count;
        expect({ registered: registered / jsonBytes, restarted: restarted / jsonBytes }).toEqual({
          registered: expect.any(Number),
          restarted: expect.any(Number),
        });
        expect(registered).toBeLessThan(3 * jsonBytes);
        expect(restarted).toBeLessThan(3 * jsonBytes);
      },
      120_000,
    );
  });

  it('logged none of the refusals with a stack trace, SQL parameters or at error level', () => {
    expect(capture.text).toContain('request completed');
    const lines = capture.lines();
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(capture.text).not.toMatch(/"stack"|Duplicate entry|\bat [\w.<>]+ \(/);
  });
});

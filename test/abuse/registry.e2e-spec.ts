import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Connection, createConnection } from 'mysql2/promise';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { KeyedLanes } from '../../src/common/keyed-lanes';
import { MinuteAggregator } from '../../src/minute-metrics/minute-aggregator';
import * as registration from '../../src/registry/registration';
import { RegistryIndex } from '../../src/registry/registry-index';
import { RegistryLoader } from '../../src/registry/registry-loader';
import { eventually } from '../utils/eventually';
import { createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, postReport, registerInstances } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';
import { describeEachDatabase, type TestDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15: finding 2 (per-project instance cap, keys and depth of `metadata` / `routingParams`,
 * a compact in-memory form), the AgentX batch (every model of every user in one batch), and
 * finding 11 (c) `routingParams: null` on update and (d) business ids differing by case or
 * trailing space on MySQL. From the review of the hardening: M3 (a batch registration held its
 * project's row, and with it every tenant's minute-metric flush) and L3 (registrations of one
 * project queued without bound, each holding its parsed body).
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

/** A promise that resolves when told to: a registration parked until the test lets it go. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Starts `work` now (a supertest request is lazy) and tells whether it has settled yet, and how long it took. */
function started<T>(work: PromiseLike<T>): { readonly answer: Promise<T>; answered(): boolean; took(): number } {
  const start = performance.now();
  let end: number | undefined;
  const answer = Promise.resolve(work).finally(() => (end = performance.now()));
  return { answer, answered: () => end !== undefined, took: () => Math.round((end ?? Number.NaN) - start) };
}

/**
 * The suite's database, opened by a second app too (another node on the same MySQL database):
 * prepared once, dropped once by the app that owns it.
 */
function reopenable(database: TestDatabase): { readonly owner: TestDatabase; readonly guest: TestDatabase } {
  let env: Promise<Record<string, string>> | undefined;
  const prepare = (): Promise<Record<string, string>> => (env ??= database.prepare());
  return {
    owner: { name: database.name, prepare, dispose: () => database.dispose() },
    guest: { name: database.name, prepare, dispose: () => Promise.resolve() },
  };
}

describeEachDatabase('abuse: registry (issue #15)', (database) => {
  let gateway: TestApp;
  let agentx: TestProject;
  const shared = reopenable(database);
  const env = { GATEWAY_MAX_INSTANCES_PER_PROJECT: String(CAP), LOG_LEVEL: 'debug' };

  beforeAll(async () => {
    gateway = await createTestApp({ database: shared.owner, env, logDestination: capture });
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

  /**
   * Parks the project's first registration inside its turn, before it plans (on MySQL: holding the
   * registration lock, in its transaction), until `open`; counts the registrations of the project
   * that reached a lane (`entered`) and that began to plan (`planned`), on every app of the process.
   */
  const park = (project: TestProject) => {
    const parked = gate();
    const plan = registration.planRegistration;
    let first = true;
    let planned = 0;
    const spy = jest.spyOn(registration, 'planRegistration').mockImplementation(async (...args) => {
      const [, projectId] = args;
      if (projectId !== project.id) return plan(...args);
      planned++;
      if (first) {
        first = false;
        await parked.opened;
      }
      return plan(...args);
    });
    const lanes = jest.spyOn(KeyedLanes.prototype, 'run');
    const entered = (): number => lanes.mock.calls.filter(([key]) => key === project.id).length;
    const restore = (): void => {
      parked.open();
      spy.mockRestore();
      lanes.mockRestore();
    };
    return { open: parked.open, entered, planned: () => planned, restore };
  };

  describe('the AgentX batch', () => {
    it('accepts every model of every user in one batch (1006 instances)', async () => {
      const instances = Array.from({ length: 1006 }, (_, i) => agentxModel(i));
      const res = await send(agentx, 'post', '/api/instances/batch', { instances });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(1006);
      expect(res.body.data[1005]).toMatchObject({ businessId: 'model-101005', status: 'ACTIVE' });
      expect(await rows(agentx)).toBe(1006);
      expect(held(agentx)).toBe(1006);
      // AgentX's next start sends the same batch: every instance answers unchanged, with its id.
      const again = await send(agentx, 'post', '/api/instances/batch', { instances }).expect(200);
      expect(again.body.data).toHaveLength(1006);
      const registrations = new Set((again.body.data as { registration: string }[]).map((item) => item.registration));
      expect([...registrations]).toEqual(['unchanged']);
      expect(again.body.data[1005].id).toBe(res.body.data[1005].id);
      expect(await rows(agentx)).toBe(1006);
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

  describe('one project at a time on MySQL, without holding its row (M3)', () => {
    /** A connection of its own to the suite's database, as another node or a writer would have. */
    const connect = (): Promise<Connection> => {
      const config = gateway.config.database;
      if (config.type !== 'mysql') throw new Error('MySQL only');
      return createConnection({
        host: config.host,
        port: config.port,
        user: config.username,
        password: config.password,
        database: config.database,
      });
    };
    /** Statements running on this database whose text starts with `prefix` (waiting for a lock, here). */
    const running = async (probe: Connection, prefix: string): Promise<number> => {
      const [rows] = await probe.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE ?',
        [`${prefix}%`],
      );
      return Number((rows as { n: number | string }[])[0].n);
    };
    /**
     * Inserts into `api_instances` running on this database: a batch's inserts run inside its
     * transaction, and one that stays running waits for a lock. (MariaDB 10.11's INNODB_TRX did not
     * list such a transaction, begun with plain reads, in our runs.)
     */
    const insertsWaiting = (probe: Connection) => running(probe, 'INSERT INTO `api_instances`');
    /** Registrations of this database waiting for a registration lock. */
    const lockWaiters = (probe: Connection) => running(probe, 'SELECT GET_LOCK');
    /** Updates of the `projects` table running on this database (waiting for a row lock). */
    const rowUpdatesWaiting = (probe: Connection) => running(probe, 'UPDATE `projects`');
    /** Two tenants with an instance each: `parked` (whose batch will be held) and a bystander. */
    const twoTenants = async (name: string) => {
      const parked = await createProject(gateway, `${name} parked`);
      const bystander = await createProject(gateway, `${name} bystander`);
      const mine = (await registerInstances(gateway, parked, [modelInstance(`${name}-seed`)]))[`${name}-seed`];
      const theirs = (await registerInstances(gateway, bystander, [modelInstance(`${name}-other`)]))[`${name}-other`];
      return { parked, bystander, mine, theirs, name };
    };
    /**
     * Starts a 1000-instance batch of `parked` that stops inside its transaction: `holder` holds the
     * gap of the unique key the batch inserts into — no lock on the project's row — so the batch
     * waits there, after whatever it locked first. Roll `holder` back to let it go on.
     */
    const parkBatch = async (parked: TestProject, holder: Connection, probe: Connection) => {
      await holder.query('START TRANSACTION');
      await holder.query(
        "SELECT id FROM api_instances WHERE project_id = ? AND api_type = 'MODEL' AND business_id = ? FOR UPDATE",
        [parked.id, 'parked-100500'],
      );
      const instances = Array.from({ length: 1000 }, (_, i) => agentxModel(i, 'parked'));
      const batch = started<Response>(send(parked, 'post', '/api/instances/batch', { instances }));
      await eventually(async () => expect(await insertsWaiting(probe)).toBe(1), {
        timeoutMs: 20_000,
        what: 'the batch waits inside its transaction',
      });
      return batch;
    };
    /** A report for each tenant, then the gateway's own flush (one transaction with both rows), which must end within 3 s. */
    const flushBoth = async (tenants: Awaited<ReturnType<typeof twoTenants>>, during: string) => {
      const report = { success: true, latencyMs: 5, callTimestamp: gateway.clock.now() };
      const { parked, bystander, mine, theirs, name } = tenants;
      await postReport(gateway, parked, { ...report, instanceId: mine, businessId: `${name}-seed` }).expect(200);
      await postReport(gateway, bystander, { ...report, instanceId: theirs, businessId: `${name}-other` }).expect(200);
      const flushing = started(gateway.app.get(MinuteAggregator).flush(true));
      await eventually(() => expect(flushing.answered()).toBe(true), {
        timeoutMs: 3000,
        what: `the minute flush of both tenants' rows, while ${during}`,
      });
      expect(await flushing.answer).toBe(2);
      return flushing.took();
    };
    /** Runs a statement, answering how long it took (ms). */
    const timed = async (work: () => Promise<unknown>): Promise<number> => {
      const start = performance.now();
      await work();
      return Math.round(performance.now() - start);
    };

    (database.name === 'mysql' ? it : it.skip)(
      "a batch inside its transaction does not hold up its project's minute metrics, breaker events, nor the flush of every tenant",
      async () => {
        const tenants = await twoTenants('batch');
        const { parked, mine, theirs } = tenants;
        const holder = await connect();
        const writer = await connect();
        let batch: ReturnType<typeof started<Response>> | undefined;
        try {
          batch = await parkBatch(parked, holder, writer);

          // Each write below waits at most 3 s for a lock, then fails: held behind the batch, it would.
          await writer.query('SET SESSION innodb_lock_wait_timeout = 3');
          const minute = await timed(() =>
            writer.query(
              'INSERT INTO instance_metrics_minute (instance_id, minute_ts, project_id, calls) VALUES (?, ?, ?, 1)',
              [mine, 60_000, parked.id],
            ),
          );
          const event = await timed(() =>
            writer.query(
              'INSERT INTO breaker_events (id, project_id, instance_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
              ['e'.repeat(32), parked.id, mine, 'CLOSED', 'OPEN', 'test', '2026-01-01 00:00:00.000'],
            ),
          );
          const flush = await flushBoth(tenants, 'the batch is in its transaction');
          expect(Math.max(minute, event, flush)).toBeLessThan(1000);
          expect(batch.answered()).toBe(false);
        } finally {
          await holder.query('ROLLBACK');
          await Promise.all([holder.end(), writer.end()]);
        }
        const res = await batch.answer;
        expect(res.status).toBe(200);
        expect(res.body.data).toHaveLength(1000);
        const [flushed] = await gateway.app
          .get(DataSource)
          .query('SELECT SUM(calls) AS n FROM instance_metrics_minute WHERE instance_id = ?', [theirs]);
        expect(Number(flushed.n)).toBe(1);
      },
      60_000,
    );

    (database.name === 'mysql' ? it : it.skip)(
      "a settings update during the project's batch waits for the project's lock, not on its row: every tenant's flush goes on",
      async () => {
        const tenants = await twoTenants('settings');
        const { parked } = tenants;
        const holder = await connect();
        const probe = await connect();
        let batch: ReturnType<typeof started<Response>> | undefined;
        let update: ReturnType<typeof started<Response>> | undefined;
        try {
          batch = await parkBatch(parked, holder, probe);
          update = started<Response>(
            gateway
              .http()
              .patch('/api/projects/current/settings')
              .set('api-key', parked.apiKey)
              .send({ defaultStrategy: 'round-robin' }),
          );
          // Waiting, for the project's lock or (without one) on the project's row.
          await eventually(async () => expect((await lockWaiters(probe)) + (await rowUpdatesWaiting(probe))).toBe(1), {
            timeoutMs: 5000,
            what: 'the settings update waits',
          });
          await flushBoth(tenants, 'the update waits for the batch');
          expect([batch.answered(), update.answered()]).toEqual([false, false]);
        } finally {
          await holder.query('ROLLBACK');
          await Promise.all([holder.end(), probe.end()]);
        }
        expect((await batch.answer).status).toBe(200);
        expect((await update.answer).status).toBe(200);
      },
      60_000,
    );

    (database.name === 'mysql' ? it : it.skip)(
      'two nodes registering for one project at once never take it past its cap, and leave no lock behind',
      async () => {
        const other = await createTestApp({ database: shared.guest, env });
        const probe = await connect();
        const project = await createProject(gateway, 'Racing nodes');
        const parked = park(project);
        const batchOn = (node: TestApp, prefix: string) =>
          started(
            node
              .http()
              .post('/api/instances/batch')
              .set('api-key', project.apiKey)
              .send({ instances: Array.from({ length: 600 }, (_, i) => agentxModel(i, prefix)) }),
          );
        try {
          // Node A's batch stops in its turn, before it counts; node B's then either waits for the
          // project (the lock) or counts the same empty project alongside — a race made certain.
          const onA = batchOn(gateway, 'node-a');
          await eventually(() => expect(parked.planned()).toBe(1), { timeoutMs: 10_000, what: "A's batch plans" });
          const onB = batchOn(other, 'node-b');
          await eventually(
            async () =>
              expect({ waiting: await lockWaiters(probe), planned: parked.planned() }).not.toEqual({
                waiting: 0,
                planned: 1,
              }),
            { timeoutMs: 10_000, what: "B's batch waits for A's, or plans beside it" },
          );
          parked.open();
          const answers = await Promise.all([onA.answer, onB.answer]);
          expect(answers.map((res) => res.status)).toEqual([200, 409]);
          expect(answers[1].body).toMatchObject({ error: 'INSTANCE_LIMIT_REACHED', details: { current: 600 } });
          expect(await rows(project)).toBe(600);
          const [lock] = await gateway.app
            .get(DataSource)
            .query("SELECT IS_USED_LOCK(CONCAT('gw:reg:', ?)) AS holder", [project.id]);
          expect(lock.holder).toBeNull();
        } finally {
          parked.restore();
          await probe.end();
          await other.close();
        }
      },
      60_000,
    );
  });

  describe('registrations waiting for their project (L3)', () => {
    const batchOf = (project: TestProject, n: number) =>
      started<Response>(
        send(project, 'post', '/api/instances/batch', {
          instances: Array.from({ length: 20 }, (_, i) => agentxModel(n * 100 + i, 'queued')),
        }),
      );
    const single = (project: TestProject, n: number) =>
      started<Response>(send(project, 'post', '/api/instances', agentxModel(n, 'single')));

    it('a batch beyond 4 waiting: 429 REGISTRATION_BUSY with Retry-After, at once; the others all go through', async () => {
      const project = await createProject(gateway, 'Batch queue');
      const parked = park(project);
      const queued = [batchOf(project, 0)];
      try {
        await eventually(() => expect(parked.entered()).toBe(1), { timeoutMs: 10_000, what: 'the first batch runs' });
        for (let n = 1; n <= 4; n++) queued.push(batchOf(project, n));
        await eventually(() => expect(parked.entered()).toBe(5), { timeoutMs: 10_000, what: '4 batches wait' });
        const sixth = batchOf(project, 5);
        await eventually(() => expect(sixth.answered()).toBe(true), {
          timeoutMs: 5000,
          what: 'a sixth batch is answered while four wait',
        });
        const res = await sixth.answer;
        expect(res.status).toBe(429);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.body).toMatchObject({
          code: 429,
          error: 'REGISTRATION_BUSY',
          details: { waiting: 4, limit: 4, retryAfterMs: 1000 },
        });
        expect(queued.some((one) => one.answered())).toBe(false);
      } finally {
        parked.restore();
      }
      const answers = await Promise.all(queued.map((one) => one.answer));
      expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
      expect(await rows(project)).toBe(100);
    });

    it("single registrations queue behind a full lane of batches (AgentX's model events); beyond 32 waiting, 429", async () => {
      const project = await createProject(gateway, 'Single queue');
      const parked = park(project);
      const queued = [batchOf(project, 0)];
      try {
        await eventually(() => expect(parked.entered()).toBe(1), { timeoutMs: 10_000, what: 'the first batch runs' });
        for (let n = 1; n <= 4; n++) queued.push(batchOf(project, n));
        // AgentX's HTTP client keeps at most 2 connections to the gateway: 2 at once per AgentX node.
        for (let n = 0; n < 32; n++) queued.push(single(project, n));
        await eventually(() => expect(parked.entered()).toBe(37), { timeoutMs: 20_000, what: '36 registrations wait' });
        const extra = single(project, 32);
        await eventually(() => expect(extra.answered()).toBe(true), {
          timeoutMs: 5000,
          what: 'a 33rd single registration is answered while 32 wait',
        });
        const res = await extra.answer;
        expect(res.status).toBe(429);
        expect(res.body).toMatchObject({ error: 'REGISTRATION_BUSY', details: { waiting: 32, limit: 32 } });
        expect(queued.some((one) => one.answered())).toBe(false);
      } finally {
        parked.restore();
      }
      const answers = await Promise.all(queued.map((one) => one.answer));
      expect(answers.filter((res) => res.status === 200)).toHaveLength(37);
      expect(await rows(project)).toBe(5 * 20 + 32);
      expect(held(project)).toBe(5 * 20 + 32);
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

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Answer,
  CLUSTER_METRICS_TOKEN,
  type Cluster,
  type ClusterProject,
  type GatewayNode,
  adminToken,
  call,
  createProject,
  ok,
  startCluster,
} from '../utils/cluster';
import { allSettled, eventually } from '../utils/eventually';
import { startGateway } from '../utils/gateway-process';
import {
  type PrivateRedis,
  type PrivateSentinel,
  redisServerPath,
  startRedisServer,
  startSentinel,
} from '../utils/redis-server';
import { describeWhenAvailable } from '../utils/requirements';
import { mysqlDatabase, type TestDatabase } from '../utils/test-database';

/**
 * Cluster mode (issue 14, docs/cluster.md) end to end: real gateway processes on one fresh
 * MariaDB database and a private `redis-server` the test may kill, a client spreading requests
 * over the nodes. One test (or one describe) per acceptance line; each uses its own project and
 * API identifiers, so the order does not matter, except the Redis outage, which runs last because
 * it empties Redis. Everything that crosses processes is polled with a deadline.
 */

/** "Within 1 s": events, revocations, breaker transitions, operator overrides, leases. */
const PROPAGATION_MS = 1000;
/** "Within about a second" for learned statistics (batched deltas): a little slack. */
const STATISTICS_MS = 2000;
/** The outage the test inflicts on Redis. */
const OUTAGE_MS = 5000;
/** "When Redis returns, nodes resynchronise within 5 s." */
const RESYNC_MS = 5000;
/** Set-up waits (a node starting, heartbeats): not what is under test. */
const SETUP_MS = 10_000;

const DATABASE_URL = process.env.TEST_DATABASE_URL;

const missing = [
  ...(DATABASE_URL
    ? []
    : [
        'TEST_DATABASE_URL is not set: cluster mode needs a shared MySQL/MariaDB database ' +
          '(e.g. TEST_DATABASE_URL=mysql://root@127.0.0.1:3306/gateway_test; the suite creates and drops its own)',
      ]),
  ...(redisServerPath()
    ? []
    : ['redis-server not found: the suite starts a private one (Debian: apt-get install redis-server)']),
];

/** A name no other test uses. */
function fresh(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}

interface Selected {
  readonly id: string;
  readonly businessId: string;
  readonly selectionId: string;
  readonly affinityBound: boolean;
}

interface InstanceHealth {
  readonly selectable: boolean;
  readonly breaker: { readonly state: string };
  readonly quotas: { readonly concurrency: { readonly open: number } };
  readonly latencyMs: number;
}

interface ClusterHealth {
  readonly node: string;
  readonly cluster: { readonly mode: string; readonly status: string; readonly nodes: readonly string[] };
}

/** Registers MODEL instances of `apiIdentifier` on `node`; returns businessId → id. */
async function register(
  node: GatewayNode,
  project: ClusterProject,
  apiIdentifier: string,
  instances: readonly { readonly businessId: string; readonly routingParams?: Record<string, unknown> }[],
): Promise<Record<string, string>> {
  const created = await ok<{ id: string; businessId: string }[]>(node, 'POST', '/api/instances/batch', {
    apiKey: project.apiKey,
    body: { instances: instances.map((one) => ({ apiIdentifier, apiType: 'MODEL', ...one })) },
  });
  return Object.fromEntries(created.map((one) => [one.businessId, one.id]));
}

function select(
  node: GatewayNode,
  project: ClusterProject,
  apiIdentifier: string,
  extra: Record<string, unknown> = {},
): Promise<Answer<Selected>> {
  return call<Selected>(node, 'POST', '/api/gateway/select-instance', {
    apiKey: project.apiKey,
    body: { apiIdentifier, apiType: 'MODEL', ...extra },
  });
}

/** A report that must be accepted: `outcome` over a successful 100 ms default. */
async function report(
  node: GatewayNode,
  project: ClusterProject,
  instanceId: string,
  businessId: string,
  outcome: Record<string, unknown> = {},
): Promise<void> {
  await ok(node, 'POST', '/api/gateway/report-result', {
    apiKey: project.apiKey,
    body: { instanceId, businessId, success: true, latencyMs: 100, callTimestamp: Date.now(), ...outcome },
  });
}

function instanceHealth(node: GatewayNode, project: ClusterProject, id: string): Promise<InstanceHealth> {
  return ok<InstanceHealth>(node, 'GET', `/api/instances/${id}/health`, { apiKey: project.apiKey });
}

function clusterHealth(node: GatewayNode): Promise<ClusterHealth> {
  return ok<ClusterHealth>(node, 'GET', '/api/health');
}

/** The value of `gateway_cluster_connected` in the node's `/metrics`, or undefined when it is not exported. */
async function clusterConnectedGauge(node: GatewayNode): Promise<number | undefined> {
  const res = await call(node, 'GET', '/metrics', { token: CLUSTER_METRICS_TOKEN });
  const match = /^gateway_cluster_connected(?:\{[^}]*\})?\s+(\S+)/m.exec(res.text);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Waits until every node's registry holds the instances (their health route answers): set-up
 * for the tests about what happens next, not a measure of propagation.
 */
async function knownEverywhere(cluster: Cluster, project: ClusterProject, ids: readonly string[]): Promise<void> {
  await allSettled(
    cluster.nodes.flatMap((node) =>
      ids.map((id) =>
        eventually(() => instanceHealth(node, project, id), {
          timeoutMs: SETUP_MS,
          intervalMs: 50,
          what: `node ${node.name} knows instance ${id}`,
        }),
      ),
    ),
  );
}

describe('cluster mode configuration', () => {
  it('refuses REDIS_URL with SQLite, with one line naming REDIS_URL and DATABASE_URL', async () => {
    const run = startGateway({ PORT: '0', REDIS_URL: 'redis://127.0.0.1:6379', GATEWAY_SQLITE_PATH: ':memory:' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('REDIS_URL');
    expect(run.output()).toContain('DATABASE_URL');
    expect(run.output()).not.toMatch(/\n\s+at /);
  });
});

describeWhenAvailable('cluster mode: gateway processes on one database and one Redis', missing, () => {
  let database: TestDatabase;
  let databaseEnv: Record<string, string>;

  beforeAll(async () => {
    database = mysqlDatabase(DATABASE_URL ?? '');
    databaseEnv = await database.prepare();
  });

  afterAll(async () => {
    await database?.dispose();
  });

  describe('three nodes A, B, C and a private redis-server', () => {
    let redis: PrivateRedis | undefined;
    let cluster: Cluster;
    let a: GatewayNode;
    let b: GatewayNode;
    let c: GatewayNode;
    let token: string;

    beforeAll(async () => {
      redis = await startRedisServer();
      cluster = await startCluster({ databaseEnv, redisUrl: redis.url, names: ['a', 'b', 'c'] });
      [a, b, c] = ['a', 'b', 'c'].map((name) => cluster.node(name));
      token = await adminToken(a);
      // Heartbeats cross: every node sees the three.
      await allSettled(
        cluster.nodes.map((node) =>
          eventually(async () => expect((await clusterHealth(node)).cluster.nodes).toEqual(['a', 'b', 'c']), {
            timeoutMs: SETUP_MS,
            intervalMs: 100,
            what: `node ${node.name} sees a, b and c`,
          }),
        ),
      );
    }, 180_000);

    afterAll(async () => {
      await cluster?.stop();
      await redis?.stop();
    }, 60_000);

    const newProject = (label: string): Promise<ClusterProject> => createProject(a, token, fresh(label));

    it('a registration on A is selectable on B and C within 1 s; a deactivation on A likewise', async () => {
      const project = await newProject('registry');
      const api = fresh('registry-model');
      const { only } = await register(a, project, api, [{ businessId: 'only' }]);
      await allSettled(
        [b, c].map((node) =>
          eventually(
            async () => {
              const res = await select(node, project, api);
              expect(res.status).toBe(200);
              expect(res.body.data?.id).toBe(only);
            },
            { timeoutMs: PROPAGATION_MS, what: `node ${node.name} offers the instance registered on A` },
          ),
        ),
      );

      await ok(a, 'POST', '/api/instances/MODEL/only/deactivate', { apiKey: project.apiKey, body: {} });
      await allSettled(
        [b, c].map((node) =>
          eventually(
            async () => {
              const res = await select(node, project, api);
              expect(res.body.error).toBe('NO_AVAILABLE_INSTANCE');
            },
            { timeoutMs: PROPAGATION_MS, what: `node ${node.name} stops offering the instance deactivated on A` },
          ),
        ),
      );
    });

    it('a key revoked on A is refused by C within 1 s', async () => {
      const project = await newProject('revocation');
      const api = fresh('revocation-model');
      const { x } = await register(a, project, api, [{ businessId: 'x' }]);
      await knownEverywhere(cluster, project, [x]);
      // C has authenticated the key: it is in C's cache, which only an event can invalidate.
      expect((await select(c, project, api)).status).toBe(200);

      await ok(a, 'PUT', `/api/admin/apikeys/${project.keyId}/status`, { token, body: { status: 'REVOKED' } });
      expect((await select(a, project, api)).body.error).toBe('API_KEY_REVOKED');
      await eventually(
        async () => {
          const res = await select(c, project, api);
          expect(res.status).toBe(401);
          expect(res.body.error).toBe('API_KEY_REVOKED');
        },
        { timeoutMs: PROPAGATION_MS, what: 'C refuses the key revoked on A' },
      );
    });

    describe('breakers: one per instance for the whole cluster', () => {
      it('5 consecutive failures reported round-robin to A, B and C open the breaker on all three; no node offers it afterwards', async () => {
        const project = await newProject('breaker');
        const api = fresh('breaker-model');
        const ids = await register(a, project, api, [{ businessId: 'bad' }, { businessId: 'good' }]);
        await knownEverywhere(cluster, project, Object.values(ids));

        const nodes = [a, b, c];
        for (let i = 0; i < 5; i++) {
          await report(nodes[i % 3], project, ids.bad, 'bad', { success: false, statusCode: 500, latencyMs: 200 });
        }
        await allSettled(
          nodes.map((node) =>
            eventually(async () => expect((await instanceHealth(node, project, ids.bad)).breaker.state).toBe('OPEN'), {
              timeoutMs: PROPAGATION_MS,
              what: `node ${node.name} sees the breaker OPEN`,
            }),
          ),
        );
        for (const node of nodes) {
          for (let i = 0; i < 6; i++) {
            const res = await select(node, project, api, { strategy: 'round-robin' });
            expect(res.status).toBe(200);
            expect(res.body.data?.businessId).toBe('good');
          }
        }
      });

      it('FORCED_OPEN set on A holds on B and C within 1 s', async () => {
        const project = await newProject('forced');
        const api = fresh('forced-model');
        const ids = await register(a, project, api, [{ businessId: 'forced' }, { businessId: 'other' }]);
        await knownEverywhere(cluster, project, Object.values(ids));

        await ok(a, 'POST', `/api/admin/instances/${ids.forced}/circuit`, { token, body: { state: 'FORCED_OPEN' } });
        await allSettled(
          [b, c].map((node) =>
            eventually(
              async () => {
                const health = await instanceHealth(node, project, ids.forced);
                expect(health.breaker.state).toBe('FORCED_OPEN');
                expect(health.selectable).toBe(false);
              },
              { timeoutMs: PROPAGATION_MS, what: `node ${node.name} holds FORCED_OPEN` },
            ),
          ),
        );
        for (const node of [b, c]) {
          for (let i = 0; i < 6; i++) {
            const res = await select(node, project, api, { strategy: 'round-robin' });
            expect(res.body.data?.businessId).toBe('other');
          }
        }
      });
    });

    it('rpmLimit 60 with 120 selections spread over the nodes grants 54–66', async () => {
      const project = await newProject('rpm');
      const api = fresh('rpm-model');
      const { limited } = await register(a, project, api, [{ businessId: 'limited', routingParams: { rpmLimit: 60 } }]);
      await knownEverywhere(cluster, project, [limited]);

      const granted: Record<string, number> = { a: 0, b: 0, c: 0 };
      const refusals: Record<string, number> = {};
      for (let i = 0; i < 120; i++) {
        const node = cluster.next();
        const res = await select(node, project, api);
        if (res.status === 200) granted[node.name]++;
        else refusals[`${res.status} ${res.body.error}`] = (refusals[`${res.status} ${res.body.error}`] ?? 0) + 1;
      }
      const total = granted.a + granted.b + granted.c;
      for (const refusal of Object.keys(refusals)) expect(refusal).toBe('429 QUOTA_EXHAUSTED');
      expect({ total, within54to66: total >= 54 && total <= 66, granted }).toEqual({
        total,
        within54to66: true,
        granted,
      });
    });

    it('maxConcurrency 1 holds across nodes; a lease opened on A and reported on C frees the slot for B within 1 s', async () => {
      const project = await newProject('concurrency');
      const api = fresh('concurrency-model');
      const { single } = await register(a, project, api, [
        { businessId: 'single', routingParams: { maxConcurrency: 1 } },
      ]);
      await knownEverywhere(cluster, project, [single]);

      const onA = await eventually(
        async () => {
          const res = await select(a, project, api);
          expect(res.status).toBe(200);
          return res.body.data as Selected;
        },
        { timeoutMs: PROPAGATION_MS, what: 'A grants the only slot' },
      );
      // A lease's count crosses to the other nodes in one pub/sub hop (docs/cluster.md), which a
      // request sent right after the answer can beat: read-only, wait until every node counts it.
      const countedEverywhere = (open: number, what: string): Promise<void> =>
        eventually(
          async () => {
            for (const node of cluster.nodes) {
              const health = await instanceHealth(node, project, single);
              expect({ node: node.name, open: health.quotas.concurrency.open }).toEqual({ node: node.name, open });
            }
          },
          { timeoutMs: PROPAGATION_MS, what },
        );
      await countedEverywhere(1, "every node counts A's lease");
      for (const node of [b, c]) {
        const res = await select(node, project, api);
        expect({ node: node.name, status: res.status, error: res.body.error }).toEqual({
          node: node.name,
          status: 429,
          error: 'QUOTA_EXHAUSTED',
        });
      }

      await report(c, project, single, 'single', { selectionId: onA.selectionId });
      await eventually(
        async () => {
          const res = await select(b, project, api);
          expect(res.status).toBe(200);
        },
        { timeoutMs: PROPAGATION_MS, what: 'B gets the slot freed by the report on C' },
      );
      await countedEverywhere(1, "every node counts B's lease");
      for (const node of [a, c]) {
        const res = await select(node, project, api);
        expect({ node: node.name, status: res.status, error: res.body.error }).toEqual({
          node: node.name,
          status: 429,
          error: 'QUOTA_EXHAUSTED',
        });
      }
    });

    it('an affinity bound on A is honoured by B and C', async () => {
      const project = await newProject('affinity');
      const api = fresh('affinity-model');
      const ids = await register(a, project, api, [
        { businessId: 'one' },
        { businessId: 'two' },
        { businessId: 'three' },
      ]);
      await knownEverywhere(cluster, project, Object.values(ids));

      // Bindings made on A, spread over the three instances by round-robin: a node that did not
      // know them would choose by itself and disagree with A about two keys in three.
      const perNode = 60;
      const keys = Array.from({ length: 2 * perNode }, (_, i) => `session-${i}`);
      const boundOnA = new Map<string, string>();
      for (const key of keys) {
        const res = await select(a, project, api, { affinityKey: key, strategy: 'round-robin' });
        expect(res.status).toBe(200);
        boundOnA.set(key, (res.body.data as Selected).id);
      }
      expect(new Set(boundOnA.values()).size).toBe(3);
      // A honours its own bindings (the test's premise).
      for (const key of keys.slice(0, 3)) {
        const res = await select(a, project, api, { affinityKey: key, strategy: 'round-robin' });
        expect(res.body.data).toMatchObject({ id: boundOnA.get(key), affinityBound: true });
      }

      // A select on a node that does not know a binding yet binds it there, so each attempt uses a
      // key never asked on that node, and B and C use keys of their own.
      const honours = async (node: GatewayNode, own: readonly string[]): Promise<void> => {
        const queue = [...own];
        let last = 'none';
        const honoured = async (key: string): Promise<void> => {
          const res = await select(node, project, api, { affinityKey: key, strategy: 'round-robin' });
          const answer = { node: node.name, key, id: res.body.data?.id, affinityBound: res.body.data?.affinityBound };
          last = `${JSON.stringify(answer)}, A bound ${boundOnA.get(key)}`;
          expect(answer).toEqual({
            node: node.name,
            key,
            id: boundOnA.get(key),
            affinityBound: true,
          });
        };
        await eventually(
          async () => {
            const key = queue.shift();
            if (key === undefined) throw new Error(`every key was tried; the last answer: ${last}`);
            await honoured(key);
          },
          { timeoutMs: PROPAGATION_MS, intervalMs: 20, what: `node ${node.name} honours A's bindings` },
        );
        for (const key of queue) await honoured(key);
      };
      await allSettled([honours(b, keys.slice(0, perNode)), honours(c, keys.slice(perNode))]);
    });

    it("latencies reported to A and B steer C's least-latency pick", async () => {
      const project = await newProject('latency');
      const api = fresh('latency-model');
      const ids = await register(a, project, api, [{ businessId: 'fast' }, { businessId: 'slow' }]);
      await knownEverywhere(cluster, project, Object.values(ids));

      for (const node of [a, b]) {
        for (let i = 0; i < 5; i++) {
          await report(node, project, ids.fast, 'fast', { latencyMs: 40 });
          await report(node, project, ids.slow, 'slow', { latencyMs: 2500 });
        }
      }
      // A, which got reports, picks `fast` (the test's premise); C, which got none, must follow.
      for (let i = 0; i < 10; i++) {
        expect((await select(a, project, api, { strategy: 'least-latency' })).body.data?.businessId).toBe('fast');
      }
      // C saw no report: unseen instances tie at the neutral 1 s and are picked at random, so ten
      // picks of `fast` in a row happen by chance once in 1024.
      await eventually(
        async () => {
          const picks: string[] = [];
          for (let i = 0; i < 10; i++) {
            picks.push((await select(c, project, api, { strategy: 'least-latency' })).body.data?.businessId ?? 'none');
          }
          expect(picks).toEqual(Array.from({ length: 10 }, () => 'fast'));
        },
        { timeoutMs: STATISTICS_MS, intervalMs: 100, what: "C's least-latency picks follow what A and B learned" },
      );
    });

    /**
     * Last: it empties Redis. The outage runs once (5 s of selects and reports spread over the nodes
     * while health and metrics are watched); each `it` then judges one part of what was observed.
     */
    describe('Redis killed for 5 s, then back', () => {
      const seen = {
        selects: new Map<string, number>(),
        reports: new Map<string, number>(),
        /** Per node: what /api/health said during the outage, then after Redis came back. */
        statusDuring: new Map<string, Set<string>>(),
        gaugeDuring: new Map<string, Set<string>>(),
        reconnect: undefined as Error | undefined,
        reachedB: undefined as Error | undefined,
        reachedAfterMs: Number.NaN,
      };
      const count = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
      const note = (map: Map<string, Set<string>>, node: string, value: string): void => {
        const set = map.get(node) ?? new Set<string>();
        set.add(value);
        map.set(node, set);
      };

      beforeAll(async () => {
        if (redis === undefined) throw new Error('no private redis-server');
        const project = await newProject('outage');
        const api = fresh('outage-model');
        const ids = await register(a, project, api, [{ businessId: 'one' }, { businessId: 'two' }]);
        await knownEverywhere(cluster, project, Object.values(ids));

        await redis.kill();
        const downAt = Date.now();
        let outage = true;
        // Watch health and metrics while the outage lasts.
        const watching = (async () => {
          while (outage) {
            for (const node of cluster.nodes) {
              try {
                note(seen.statusDuring, node.name, (await clusterHealth(node)).cluster.status);
                note(seen.gaugeDuring, node.name, String(await clusterConnectedGauge(node)));
              } catch (error) {
                note(seen.statusDuring, node.name, `failed: ${String(error).slice(0, 200)}`);
              }
            }
            await sleep(50);
          }
        })();
        // Selects (and reports of them, on another node) spread over the nodes for 5 s on the clock.
        try {
          while (Date.now() - downAt < OUTAGE_MS) {
            const node = cluster.next();
            const res = await select(node, project, api);
            count(seen.selects, `${node.name} ${res.status}${res.body.error ? ` ${res.body.error}` : ''}`);
            if (res.status !== 200) continue;
            const reporter = cluster.next();
            const selected = res.body.data as Selected;
            const reported = await call(reporter, 'POST', '/api/gateway/report-result', {
              apiKey: project.apiKey,
              body: {
                instanceId: selected.id,
                businessId: selected.businessId,
                success: true,
                latencyMs: 100,
                callTimestamp: Date.now(),
                selectionId: selected.selectionId,
              },
            });
            count(seen.reports, `${reporter.name} ${reported.status}`);
          }
        } finally {
          outage = false;
          await watching;
        }

        await redis.start();
        const backAt = Date.now();
        const left = (): number => Math.max(0, RESYNC_MS - (Date.now() - backAt));
        // A registration on A at once, while A itself may still be reconnecting.
        const later = fresh('after-outage');
        const { after } = await register(a, project, later, [{ businessId: 'after' }]);
        try {
          await eventually(
            async () => {
              const res = await select(b, project, later);
              expect(res.body.data?.id).toBe(after);
            },
            { timeoutMs: left(), intervalMs: 50, what: 'B offers the instance registered on A after the outage' },
          );
          seen.reachedAfterMs = Date.now() - backAt;
        } catch (error) {
          seen.reachedB = error as Error;
        }
        try {
          await allSettled(
            cluster.nodes.map((node) =>
              eventually(
                async () => {
                  expect((await clusterHealth(node)).cluster.status).toBe('CONNECTED');
                  expect(await clusterConnectedGauge(node)).toBe(1);
                },
                { timeoutMs: left(), intervalMs: 50, what: `node ${node.name} is connected again` },
              ),
            ),
          );
        } catch (error) {
          seen.reconnect = error as Error;
        }
      }, 60_000);

      it('every select (and every report) on every node answers 200 while Redis is down', () => {
        const selects = Object.fromEntries(seen.selects);
        expect(Object.keys(selects).sort()).toEqual(['a 200', 'b 200', 'c 200']);
        for (const node of ['a', 'b', 'c']) expect(selects[`${node} 200`]).toBeGreaterThanOrEqual(10);
        expect(Object.keys(Object.fromEntries(seen.reports)).sort()).toEqual(['a 200', 'b 200', 'c 200']);
      });

      it('/api/health shows cluster.status DISCONNECTED during the outage and CONNECTED after', () => {
        for (const node of ['a', 'b', 'c']) {
          expect({ node, during: [...(seen.statusDuring.get(node) ?? [])] }).toEqual({
            node,
            during: expect.arrayContaining(['DISCONNECTED']),
          });
        }
        if (seen.reconnect !== undefined) throw seen.reconnect;
      });

      it('/metrics exports gateway_cluster_connected 0 during the outage and 1 after', () => {
        for (const node of ['a', 'b', 'c']) {
          expect({ node, during: [...(seen.gaugeDuring.get(node) ?? [])] }).toEqual({
            node,
            during: expect.arrayContaining(['0']),
          });
        }
        if (seen.reconnect !== undefined) throw seen.reconnect;
      });

      it('Redis back: a registration on A reaches B within 5 s', () => {
        if (seen.reachedB !== undefined) throw seen.reachedB;
        expect(seen.reachedAfterMs).toBeLessThanOrEqual(RESYNC_MS);
      });
    });
  });

  describe('Redis Sentinel (REDIS_URL=redis-sentinel://…)', () => {
    let redis: PrivateRedis | undefined;
    let sentinel: PrivateSentinel | undefined;
    let cluster: Cluster | undefined;

    beforeAll(async () => {
      redis = await startRedisServer();
      sentinel = await startSentinel(redis, 'gateway-master');
      cluster = await startCluster({ databaseEnv, redisUrl: sentinel.url, names: ['sentinel-a', 'sentinel-b'] });
    }, 180_000);

    afterAll(async () => {
      await cluster?.stop();
      await sentinel?.stop();
      await redis?.stop();
    }, 60_000);

    it('nodes find the master through the sentinel, connect, and an event crosses from one to the other', async () => {
      if (cluster === undefined) throw new Error('the cluster did not start');
      const [first, second] = cluster.nodes;
      await allSettled(
        cluster.nodes.map((node) =>
          eventually(
            async () => {
              const health = await clusterHealth(node);
              expect(health.cluster).toMatchObject({
                mode: 'cluster',
                status: 'CONNECTED',
                nodes: ['sentinel-a', 'sentinel-b'],
              });
            },
            { timeoutMs: SETUP_MS, intervalMs: 100, what: `node ${node.name} is connected through the sentinel` },
          ),
        ),
      );

      const token = await adminToken(first);
      const project = await createProject(first, token, fresh('sentinel'));
      const api = fresh('sentinel-model');
      const { x } = await register(first, project, api, [{ businessId: 'x' }]);
      await eventually(
        async () => {
          const res = await select(second, project, api);
          expect(res.body.data?.id).toBe(x);
        },
        { timeoutMs: PROPAGATION_MS, what: 'the second node offers the instance registered on the first' },
      );
    });
  });
});

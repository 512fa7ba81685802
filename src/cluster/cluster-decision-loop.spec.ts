import { describeWhenAvailable } from '../../test/utils/requirements';
import { Logger } from '@nestjs/common';
import { FakeClock } from '../common/clock';
import type { GatewayError } from '../common/gateway-error';
import {
  type DecisionLoop,
  createDecisionLoop,
  gatewayErrorOf,
  instanceId,
  instanceRecord,
  projectPrincipal,
} from '../selection/testing/decision-loop.testing';
import type { SelectedInstanceDto } from '../selection/dto/select-instance.dto';
import { CounterStore } from '../state/counter-store';
import { LeaseDirectory } from '../state/lease-directory';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { ClusterLeaseDirectory } from './cluster-lease-directory';
import { RedisCounterStore } from './redis-counter-store';
import { type TestNode, eventually, testCluster, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();

/** A gateway node without HTTP: the real decision loop on cluster state (its own Redis link and bus). */
interface Node {
  readonly name: string;
  readonly loop: DecisionLoop;
  readonly cluster: TestNode;
  readonly counters: RedisCounterStore;
  readonly directory: ClusterLeaseDirectory;
}

/**
 * Quotas and leases of three nodes sharing one Redis, through the real select and report paths:
 * what the cluster e2e suite checks over HTTP, here in one process and at the seams.
 */
describeWhenAvailable('quotas and leases across nodes (decision loops on one Redis)', redisMissing(), () => {
  let clock: FakeClock;
  let cluster: Awaited<ReturnType<typeof testCluster>> | undefined;
  let nodes: Node[] = [];

  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn']);
  });
  beforeEach(() => {
    clock = new FakeClock(Date.now());
  });
  afterEach(async () => {
    for (const node of nodes) await node.loop.close();
    nodes = [];
    await cluster?.close();
    cluster = undefined;
  });

  const startNode = async (name: string, node: TestNode): Promise<Node> => {
    const loop = await createDecisionLoop(() => 0.5, {
      clock,
      configure: (builder) =>
        builder
          .overrideProvider(CounterStore)
          .useFactory({ factory: () => new RedisCounterStore(node.link, node.bus, clock) })
          .overrideProvider(LeaseDirectory)
          .useFactory({ factory: () => new ClusterLeaseDirectory(node.bus) }),
    });
    const started: Node = {
      name,
      loop,
      cluster: node,
      counters: loop.module.get(CounterStore),
      directory: loop.module.get(LeaseDirectory),
    };
    nodes.push(started);
    return started;
  };
  const startNodes = async () => {
    const names = ['node-a', 'node-b', 'node-c'];
    cluster = await testCluster(redisUrl!, names);
    const all: Node[] = [];
    for (const [i, node] of cluster.nodes.entries()) all.push(await startNode(names[i], node));
    await eventually(() => all.every((node) => node.counters.nodes === 3), 3000);
    return all;
  };
  const register = (all: readonly Node[], routingParams: Record<string, unknown>) => {
    for (const node of all) node.loop.register(instanceRecord(1, { routingParams }));
  };
  const select = (node: Node): SelectedInstanceDto =>
    node.loop.selection.select(projectPrincipal(), { apiIdentifier: 'gpt-4o', apiType: 'MODEL', estimatedTokens: 100 });
  const refused = (node: Node): GatewayError => gatewayErrorOf(() => select(node));
  const openLeases = (node: Node) => node.loop.module.get(InstanceStatsRegistry).get(instanceId(1)).openLeases;

  it('maxConcurrency 1 holds across nodes; a lease opened on A and reported on C frees the slot for B', async () => {
    const [a, b, c] = await startNodes();
    register([a, b, c], { maxConcurrency: 1 });
    const chosen = select(a);
    await eventually(() => openLeases(b) === 1 && openLeases(c) === 1, 1000);
    expect(refused(b).code).toBe('QUOTA_EXHAUSTED');
    expect(refused(c).code).toBe('QUOTA_EXHAUSTED');
    c.loop.reports.report(projectPrincipal(), c.loop.reportOf(1, { selectionId: chosen.selectionId }));
    const reportedAt = Date.now();
    await eventually(() => a.loop.leases.openTotal === 0, 1000);
    await eventually(() => openLeases(b) === 0, 1000);
    expect(Date.now() - reportedAt).toBeLessThan(1000);
    expect(select(b).id).toBe(instanceId(1));
  });

  it('a report without selectionId on a node holding no lease closes one on the node that holds it', async () => {
    const [a, b, c] = await startNodes();
    register([a, b, c], { maxConcurrency: 2 });
    select(a);
    select(a);
    await eventually(() => openLeases(c) === 2, 1000);
    c.loop.reports.report(projectPrincipal(), c.loop.reportOf(1));
    await eventually(() => a.loop.leases.openTotal === 1, 1000);
    await eventually(() => openLeases(b) === 1, 1000);
  });

  it('rpmLimit 60 with 120 selections spread round-robin over the nodes grants 54–66', async () => {
    const all = await startNodes();
    register(all, { rpmLimit: 60 });
    let granted = 0;
    for (let i = 0; i < 120; i++) {
      try {
        const chosen = select(all[i % 3]);
        all[(i + 1) % 3].loop.reports.report(
          projectPrincipal(),
          all[(i + 1) % 3].loop.reportOf(1, { selectionId: chosen.selectionId }),
        );
        granted++;
      } catch (error) {
        expect((error as GatewayError).code).toBe('QUOTA_EXHAUSTED');
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(granted).toBeGreaterThanOrEqual(54);
    expect(granted).toBeLessThanOrEqual(66);
  });

  it('the node holding a lease settles its tokens when the report reached another node', async () => {
    const [a, b] = await startNodes();
    register(nodes, { tpmLimit: 1000 });
    const chosen = select(a); // 100 tokens reserved
    await a.counters.syncNow();
    b.loop.reports.report(
      projectPrincipal(),
      b.loop.reportOf(1, { selectionId: chosen.selectionId, usageMetrics: { totalTokens: 700 } }),
    );
    await eventually(async () => {
      await Promise.all(nodes.map((node) => node.counters.syncNow()));
      await Promise.all(nodes.map((node) => node.counters.syncNow())); // a second reply: nothing in flight
      return nodes.every((node) => node.counters.total('tpm', instanceId(1), clock.now()) === 700);
    });
  });

  it('a half-open probe selected on A and reported on B: B releases the probe slot by its expiry, A closes the lease', async () => {
    const [a, b] = await startNodes();
    register(nodes, {});
    // Trip a's breaker (the breaker store is not what this spec is about): it turns half-open later.
    for (let i = 0; i < 5; i++) {
      a.loop.reports.report(projectPrincipal(), a.loop.reportOf(1, { success: false, statusCode: 503 }));
    }
    clock.advance(31_000);
    const probe = select(a);
    const lease = a.loop.leases.close(probe.selectionId, projectPrincipal().projectId);
    expect(lease?.probe).toBe(true);
    // Put it back as it was: open, a probe. (close() above only read what the lease knows.)
    const reopened = a.loop.leases.open({ ...lease!, ttlMs: lease!.expiresAt - lease!.openedAt, at: lease!.openedAt });
    await eventually(() => openLeases(b) === 1, 1000);
    const learn = jest.spyOn(b.loop.breakers, 'learn');
    b.loop.reports.report(projectPrincipal(), b.loop.reportOf(1, { selectionId: reopened.selectionId }));
    expect(learn.mock.calls[0][2]).toMatchObject({ outcome: 'SUCCESS', probeExpiresAt: lease!.expiresAt });
    await eventually(() => a.loop.leases.openTotal === 0, 1000);
  });
});

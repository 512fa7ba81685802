import { describeWhenAvailable } from '../../test/utils/requirements';
import { candidate, context, mulberry32 } from '../../test/contracts/candidates';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { SystemClock } from '../common/clock';
import { LeastLatencyStrategy } from '../selection/strategies/least-latency.strategy';
import { MemoryEventBus } from '../state/event-bus';
import type { InstanceStats } from '../statistics/instance-stats';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { StatsSharing } from '../statistics/stats-sharing';
import { RedisStatsExchange } from './redis-stats-exchange';
import { eventually, testCluster, type TestNode, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();
const clock = new SystemClock();

/** One node's statistics side: its registry, sharing over Redis, and the batches it heard. */
function statsNode(node: TestNode) {
  const events = new MemoryEventBus();
  const registry = new InstanceStatsRegistry(events, new BreakerTransitions());
  registry.onModuleInit();
  const exchange = new RedisStatsExchange(node.bus);
  const sharing = new StatsSharing(registry, exchange, events, clock);
  sharing.onModuleInit();
  const heard: { from: string; ids: string[] }[] = [];
  exchange.subscribe((deltas, from) =>
    heard.push({ from, ids: deltas.map((delta) => (delta as { instanceId: string }).instanceId) }),
  );
  const report = (instanceId: string, latencyMs: number, times = 1) => {
    for (let i = 0; i < times; i++) registry.get(instanceId).record({ at: clock.now(), outcome: 'SUCCESS', latencyMs });
  };
  const view = (instanceId: string): InstanceStats | undefined => {
    const stats = registry.peek(instanceId);
    stats?.refresh(clock.now());
    return stats;
  };
  return { registry, sharing, heard, report, view };
}

describeWhenAvailable('RedisStatsExchange: learned statistics shared between nodes', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>>;
  let nodes: ReturnType<typeof statsNode>[];

  beforeEach(async () => {
    cluster = await testCluster(redisUrl!, ['a', 'b', 'c']);
    nodes = cluster.nodes.map(statsNode);
  });

  afterEach(async () => {
    for (const node of nodes) {
      node.sharing.onModuleDestroy();
      node.registry.onModuleDestroy();
    }
    await cluster.close();
  });

  it('moves the view of a node that saw no report within a second of the reports', async () => {
    const [a, b] = nodes;
    const started = Date.now();
    a.report('inst-1', 180, 10);
    await eventually(() => expect(b.view('inst-1')).toMatchObject({ calls: 10, successes: 10, latencyMs: 180 }), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(b.view('inst-1')?.lastReportAt).toBeDefined();
  });

  it("steers C's least-latency pick by the latencies reported to A and B", async () => {
    const [a, b, c] = nodes;
    const ids = ['inst-1', 'inst-2', 'inst-3'];
    const strategy = new LeastLatencyStrategy();
    const pickOnC = (): string => {
      const list = ids.map((id) => {
        const stats = c.view(id);
        return candidate({
          id,
          stats: stats && { latencyMs: stats.latencyMs, calls: stats.calls, lastReportAt: stats.lastReportAt },
        });
      });
      return strategy.pick(list, context({ random: mulberry32(1) })).instance.businessId ?? '';
    };
    a.report('inst-1', 900, 5);
    b.report('inst-2', 60, 5);
    // inst-3 is unseen anywhere: C holds it at the neutral 1000 ms.
    await eventually(() => expect(pickOnC()).toBe('inst-2'), 1000);
    // inst-2 slows down, reported to B only (twice: a lone outlier only blends in): C turns to the
    // next fastest, inst-1 (seen by A only).
    b.report('inst-2', 3000, 2);
    await eventually(() => expect(pickOnC()).toBe('inst-1'), 1000);
  });

  it('adds up what several nodes learned, and sends nothing it absorbed back (no echo)', async () => {
    const [a, b, c] = nodes;
    a.report('inst-1', 100, 3);
    b.report('inst-1', 100, 4);
    await eventually(() => expect(c.view('inst-1')?.calls).toBe(7), 1000);
    await eventually(() => expect([a.view('inst-1')?.calls, b.view('inst-1')?.calls]).toEqual([7, 7]), 1000);
    // C reports something of its own: the first batch it sends carries only that.
    c.report('inst-9', 100);
    await eventually(() => expect(a.heard.some((batch) => batch.from === 'c')).toBe(true), 1000);
    expect(a.heard.filter((batch) => batch.from === 'c')).toEqual([{ from: 'c', ids: ['inst-9'] }]);
    expect(a.view('inst-1')?.calls).toBe(7);
  });

  it('sends one batch per interval, not one message per report', async () => {
    const [a, b] = nodes;
    for (let i = 0; i < 500; i++) a.report(`inst-${i % 5}`, 100);
    await eventually(() => expect(b.view('inst-4')?.calls).toBe(100), 1000);
    expect(b.heard.filter((batch) => batch.from === 'a')).toHaveLength(1);
    expect(b.heard[0].ids.sort()).toEqual(['inst-0', 'inst-1', 'inst-2', 'inst-3', 'inst-4']);
  });
});

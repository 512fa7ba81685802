import { describeWhenAvailable } from '../../test/utils/requirements';
import { Test } from '@nestjs/testing';
import { type BreakerConfig, DEFAULT_BREAKER_CONFIG } from '../circuit-breaker/breaker-config';
import { applyOperator, applyOutcome } from '../circuit-breaker/breaker-machine';
import { type BreakerTransition, BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { BreakerService } from '../circuit-breaker/breaker.service';
import type { OutcomeClass } from '../common/outcome';
import { type BreakerRecord, newBreakerRecord } from '../state/breaker-store';
import { MemoryEventBus } from '../state/event-bus';
import { ClusterBus } from './cluster-bus';
import { RedisLink } from './redis-link';
import { RedisBreakerStore, quietChange, quietMarks } from './redis-breaker-store';
import { eventually, testCluster, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();
const SUBJECT = { id: 'b'.repeat(32), projectId: 'p'.repeat(32) };
const config = DEFAULT_BREAKER_CONFIG;

/** A node's breaker side: the service over a Redis store, and every transition it hears. */
function breakerNode(node: Awaited<ReturnType<typeof testCluster>>['nodes'][number]) {
  const store = new RedisBreakerStore(node.link, node.bus);
  const transitions = new BreakerTransitions();
  const heard: BreakerTransition[] = [];
  transitions.listen((t) => heard.push(t));
  const service = new BreakerService(store, transitions, new MemoryEventBus());
  service.random = () => 0.5;
  return { store, service, heard };
}

describeWhenAvailable('RedisBreakerStore: one breaker per instance for the cluster', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>>;
  let nodes: ReturnType<typeof breakerNode>[];
  let now: number;

  beforeEach(async () => {
    cluster = await testCluster(redisUrl!, ['a', 'b', 'c']);
    nodes = cluster.nodes.map(breakerNode);
    for (const node of nodes) {
      await node.store.onModuleInit();
      node.service.onModuleInit();
    }
    now = Date.now();
  });

  afterEach(async () => {
    for (const node of nodes) {
      node.service.onModuleDestroy();
      node.store.onModuleDestroy();
    }
    await cluster.close();
  });

  const report = (node: number, outcome: OutcomeClass) =>
    nodes[node].service.learn(SUBJECT, config, { outcome, latencyMs: 100 }, now);
  const settled = () => Promise.all(nodes.map((node) => node.store.settled()));

  it('counts consecutive failures reported round-robin to three nodes, and opens the breaker on all of them', async () => {
    for (let i = 0; i < 4; i++) {
      report(i % 3, 'SERVER_ERROR');
      await settled();
    }
    expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
    report(4 % 3, 'SERVER_ERROR');
    await eventually(() =>
      expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual(['OPEN', 'OPEN', 'OPEN']),
    );
    for (const node of nodes) expect(node.service.check(SUBJECT, config, now)?.kind).toBe('breaker');
  });

  it('records a transition once for the cluster: the committing node passes it on as its own, the others as remote', async () => {
    for (let i = 0; i < 5; i++) {
      report(i % 3, 'TIMEOUT');
      await settled();
    }
    await eventually(() => expect(nodes.every((node) => node.heard.length === 1)).toBe(true));
    const own = nodes.filter((node) => node.heard[0].remote !== true);
    expect(own).toHaveLength(1);
    expect(own[0]).toBe(nodes[4 % 3]);
    expect(nodes.map((node) => [node.heard[0].from, node.heard[0].to])).toEqual([
      ['CLOSED', 'OPEN'],
      ['CLOSED', 'OPEN'],
      ['CLOSED', 'OPEN'],
    ]);
  });

  it('loses no report when nodes commit at the same time', async () => {
    // Every node reports without waiting: their compare-and-set calls race.
    for (let i = 0; i < 4; i++) report(i % 3, 'SERVER_ERROR');
    await settled();
    report(0, 'SERVER_ERROR');
    await eventually(() => expect(nodes.map((n) => n.service.stateOf(SUBJECT.id))).toEqual(['OPEN', 'OPEN', 'OPEN']));
  });

  it('holds an operator FORCED_OPEN set on one node on the others', async () => {
    nodes[0].service.setOperatorState(SUBJECT, 'FORCED_OPEN', now);
    await eventually(() =>
      expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual([
        'FORCED_OPEN',
        'FORCED_OPEN',
        'FORCED_OPEN',
      ]),
    );
    nodes[2].service.setOperatorState(SUBJECT, 'AUTO', now);
    await eventually(() =>
      expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual(['CLOSED', 'CLOSED', 'CLOSED']),
    );
  });

  it('grants the half-open probes for the cluster, not per node', async () => {
    for (let i = 0; i < 5; i++) report(0, 'SERVER_ERROR');
    await settled();
    now += config.maxOpenMs; // past any open time
    const granted: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      granted.push(nodes[i % 3].service.admit(SUBJECT, config, { now, expiresAt: now + 60_000 + i }));
      await settled();
      await eventually(() =>
        nodes.every((n) => n.store.get(SUBJECT.id)?.probeExpiries.length === granted.filter(Boolean).length),
      );
    }
    expect(granted.filter(Boolean)).toHaveLength(config.halfOpenProbes);
  });

  describe("commits a CLOSED breaker's successes together, and anything that matters to a decision at once", () => {
    const recordInRedis = async () => {
      const blob = await cluster.nodes[0].link.command.hget(`${cluster.prefix}breaker:${SUBJECT.id}`, 'r');
      return blob === null ? undefined : (JSON.parse(blob) as { window: { calls: number; failures: number } | null });
    };

    beforeEach(() => {
      // Quiet changes would wait an hour: only a change that matters, or settled(), commits them.
      for (const node of nodes) node.store.quietCommitDelayMs = 3_600_000;
    });

    it('keeps successes until a change that matters carries them, or settled()', async () => {
      for (let i = 0; i < 20; i++) report(0, 'SUCCESS');
      // Node b's failure matters: it is committed without waiting, node a's successes are not in it.
      report(1, 'SERVER_ERROR');
      await eventually(async () => expect((await recordInRedis())?.window).toMatchObject({ calls: 1, failures: 1 }));
      // A failure on node a goes at once too, and takes the successes queued before it along.
      report(0, 'TIMEOUT');
      await eventually(async () => expect((await recordInRedis())?.window).toMatchObject({ calls: 22, failures: 2 }));
      for (let i = 0; i < 5; i++) report(2, 'SUCCESS');
      await settled();
      expect((await recordInRedis())?.window).toMatchObject({ calls: 27, failures: 2 });
    });

    it("commits the default delay's successes without any other change", async () => {
      nodes[0].store.quietCommitDelayMs = 20;
      for (let i = 0; i < 3; i++) report(0, 'SUCCESS');
      await eventually(async () => expect((await recordInRedis())?.window).toMatchObject({ calls: 3, failures: 0 }));
    });

    it('commits a slow success and an operator state at once', async () => {
      const slowConfig = { ...config, slowCallMs: 50 };
      nodes[0].service.learn(SUBJECT, slowConfig, { outcome: 'SUCCESS', latencyMs: 100 }, now);
      await eventually(async () => expect((await recordInRedis())?.window).toMatchObject({ calls: 1 }));
      nodes[1].service.setOperatorState(SUBJECT, 'FORCED_OPEN', now);
      await eventually(() => expect(nodes[2].service.stateOf(SUBJECT.id)).toBe('FORCED_OPEN'));
    });
  });

  it('lets a node that starts later see the breakers the cluster already has', async () => {
    for (let i = 0; i < 5; i++) report(1, 'SERVER_ERROR');
    await settled();
    const late = breakerNode(cluster.nodes[0]);
    await late.store.onModuleInit();
    expect(late.service.stateOf(SUBJECT.id)).toBe('OPEN');
    late.store.onModuleDestroy();
  });

  it('frees the probe slots of a node that left once their leases expire', async () => {
    for (let i = 0; i < 5; i++) report(0, 'SERVER_ERROR');
    await settled();
    now += config.maxOpenMs;
    for (let i = 0; i < config.halfOpenProbes; i++) {
      expect(nodes[0].service.admit(SUBJECT, config, { now, expiresAt: now + 1000 + i })).toBe(true);
    }
    await settled();
    await eventually(() => expect(nodes[1].store.get(SUBJECT.id)?.probeExpiries).toHaveLength(config.halfOpenProbes));
    // Node a goes away without reporting: nobody will release its slots.
    expect(nodes[1].service.admit(SUBJECT, config, { now, expiresAt: now + 60_000 })).toBe(false);
    now += 1000 + config.halfOpenProbes;
    expect(nodes[1].service.wantsProbe(SUBJECT, config, now)).toBe(true);
    expect(nodes[1].service.admit(SUBJECT, config, { now, expiresAt: now + 60_000 })).toBe(true);
  });

  it('writes its record back when Redis lost it (a restart without persistence)', async () => {
    for (let i = 0; i < 5; i++) {
      report(i % 3, 'SERVER_ERROR');
      await settled();
    }
    await eventually(() =>
      expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual(['OPEN', 'OPEN', 'OPEN']),
    );
    await cluster.nodes[0].link.command.del(`${cluster.prefix}breaker:${SUBJECT.id}`);
    // The open time ends; a node that only heard the trip announced moves the breaker on.
    now += config.maxOpenMs;
    expect(nodes[2].service.snapshot(SUBJECT, config, now).state).toBe('HALF_OPEN');
    await eventually(() =>
      expect(nodes.map((node) => node.service.stateOf(SUBJECT.id))).toEqual(['HALF_OPEN', 'HALF_OPEN', 'HALF_OPEN']),
    );
    const blob = await cluster.nodes[0].link.command.hget(`${cluster.prefix}breaker:${SUBJECT.id}`, 'r');
    expect(JSON.parse(blob!)).toMatchObject({ state: 'HALF_OPEN', trips: 1 });
  });

  it('commits what was queued before a graceful stop closes Redis', async () => {
    nodes[0].service.setOperatorState(SUBJECT, 'FORCED_OPEN', now);
    await nodes[0].store.beforeApplicationShutdown();
    const blob = await cluster.nodes[1].link.command.hget(`${cluster.prefix}breaker:${SUBJECT.id}`, 'r');
    expect(JSON.parse(blob!)).toMatchObject({ operator: 'FORCED_OPEN' });
  });

  it("commits a change made just before the application closes, in Nest's shutdown order", async () => {
    const app = await Test.createTestingModule({
      providers: [
        {
          provide: RedisLink,
          useFactory: async () => {
            const link = new RedisLink({
              redis: { kind: 'url', url: redisUrl! },
              prefix: cluster.prefix,
              nodeId: 'closing',
            });
            await link.connect(3000);
            return link;
          },
        },
        ClusterBus,
        RedisBreakerStore,
      ],
    }).compile();
    await app.init();
    // The service over the app's own store: its change is queued, not yet committed.
    const service = new BreakerService(app.get(RedisBreakerStore), new BreakerTransitions(), new MemoryEventBus());
    service.setOperatorState(SUBJECT, 'FORCED_OPEN', now);
    await app.close();
    const blob = await cluster.nodes[0].link.command.hget(`${cluster.prefix}breaker:${SUBJECT.id}`, 'r');
    expect(JSON.parse(blob!)).toMatchObject({ operator: 'FORCED_OPEN' });
  });

  it('ignores malformed announcements and keeps following well-formed ones', async () => {
    const channel = `${cluster.prefix}breakers`;
    for (const garbage of ['null', '5', '{"n":"x","v":1,"r":"{}","t":5}', '{"n":"x","v":"1","r":null}', '[']) {
      await cluster.nodes[0].link.command.publish(channel, garbage);
    }
    nodes[0].service.setOperatorState(SUBJECT, 'FORCED_OPEN', now);
    await eventually(() => expect(nodes[2].service.stateOf(SUBJECT.id)).toBe('FORCED_OPEN'));
  });

  it('forgets a deleted instance everywhere', async () => {
    for (let i = 0; i < 5; i++) report(0, 'SERVER_ERROR');
    await settled();
    for (const node of nodes) node.store.delete(SUBJECT.id);
    expect(await cluster.nodes[0].link.command.exists(`${cluster.prefix}breaker:${SUBJECT.id}`)).toBe(0);
    expect(nodes[1].service.stateOf(SUBJECT.id)).toBe('CLOSED');
  });
});

describe('RedisBreakerStore without Redis', () => {
  it("decides from the node's own record and passes its transitions on locally", async () => {
    // Nothing listens on port 1: every command fails at once, as in an outage.
    const link = new RedisLink({ redis: { kind: 'url', url: 'redis://127.0.0.1:1' }, prefix: 'x:', nodeId: 'alone' });
    await link.connect(200);
    const bus = new ClusterBus(link);
    const node = breakerNode({ link, bus });
    try {
      for (let i = 0; i < 5; i++) node.service.learn(SUBJECT, config, { outcome: 'TIMEOUT', latencyMs: 1 }, Date.now());
      expect(node.service.stateOf(SUBJECT.id)).toBe('OPEN');
      await node.store.settled();
      expect(node.heard.map((t) => [t.to, t.remote])).toEqual([['OPEN', undefined]]);
    } finally {
      link.command.disconnect();
      link.subscriber.disconnect();
    }
  });
});

describe('quietChange: which changes may wait for their commit', () => {
  const key = { projectId: SUBJECT.projectId, instanceId: SUBJECT.id };
  const at = 1_700_000_000_500;
  const sink = { transition: () => undefined };

  /** Runs `change` on `record` and says whether the store would let it wait. */
  function quiet(record: BreakerRecord, change: (record: BreakerRecord, watch: { made: boolean }) => void): boolean {
    const before = quietMarks(record);
    const watch = { made: false };
    change(record, watch);
    return quietChange(before, record, watch.made);
  }
  const learn =
    (outcome: OutcomeClass, latencyMs = 100, cfg: BreakerConfig = config, when = at) =>
    (record: BreakerRecord, watch: { made: boolean }) =>
      applyOutcome(record, {
        config: cfg,
        now: when,
        sink: { transition: () => void (watch.made = true) },
        report: { outcome, latencyMs, probe: false },
        random: () => 0.5,
      });
  const closedWithCalls = (): BreakerRecord => {
    const record = newBreakerRecord(key, at);
    learn('SUCCESS')(record, { made: false });
    return record;
  };

  it('lets a fast success wait while CLOSED: the first, in the same bucket, and in a new bucket', () => {
    expect(quiet(newBreakerRecord(key, at), learn('SUCCESS'))).toBe(true);
    expect(quiet(closedWithCalls(), learn('SUCCESS'))).toBe(true);
    expect(quiet(closedWithCalls(), learn('SUCCESS', 100, config, at + 5_000))).toBe(true);
    // Ignored outcomes change nothing a decision reads.
    expect(quiet(closedWithCalls(), learn('RATE_LIMITED'))).toBe(true);
  });

  it('commits at once a failure, a slow success, a trip, an operator state, a probe slot, and any change off CLOSED', () => {
    expect(quiet(closedWithCalls(), learn('SERVER_ERROR'))).toBe(false);
    expect(quiet(closedWithCalls(), learn('SERVER_ERROR', 100, config, at + 5_000))).toBe(false);
    expect(quiet(closedWithCalls(), learn('SUCCESS', 100, { ...config, slowCallMs: 50 }))).toBe(false);
    expect(quiet(closedWithCalls(), learn('SUCCESS', 100, { ...config, slowCallMs: 50 }, at + 5_000))).toBe(false);
    expect(quiet(closedWithCalls(), learn('AUTH_ERROR'))).toBe(false);
    expect(quiet(closedWithCalls(), (record) => applyOperator(record, { state: 'DISABLED', now: at, sink }))).toBe(
      false,
    );
    const halfOpen = closedWithCalls();
    halfOpen.state = 'HALF_OPEN';
    expect(quiet(halfOpen, learn('SUCCESS'))).toBe(false);
    expect(quiet(closedWithCalls(), (record) => void record.probeExpiries.push(at + 1_000))).toBe(false);
  });

  it('commits at once on a window whose buckets are narrower than the quiet delay', () => {
    const narrow = { ...config, windowMs: 6_000 }; // 100 ms buckets
    const record = newBreakerRecord(key, at);
    learn('SUCCESS', 100, narrow)(record, { made: false });
    expect(quiet(record, learn('SUCCESS', 100, narrow))).toBe(false);
  });
});

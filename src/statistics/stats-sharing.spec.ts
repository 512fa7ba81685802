import { nestLogs } from '../../test/utils/nest-logs';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { FakeClock } from '../common/clock';
import { MemoryEventBus } from '../state/event-bus';
import { type InstanceStatsDelta, MemoryStatsExchange, type StatsExchange } from '../state/stats-exchange';
import { InstanceStatsRegistry } from './instance-stats-registry';
import { parseDelta, StatsSharing } from './stats-sharing';

const T0 = Date.UTC(2026, 0, 1);

type Listener = (deltas: readonly unknown[], from: string) => void;

/** Exchanges of a few nodes wired to each other in memory (JSON on the way, as on the bus). */
function linkedExchanges(count: number) {
  const listeners: Set<Listener>[] = Array.from({ length: count }, () => new Set());
  const published: InstanceStatsDelta[][][] = Array.from({ length: count }, () => []);
  return Array.from({ length: count }, (_, me): StatsExchange & { published: InstanceStatsDelta[][] } => ({
    enabled: true,
    published: published[me],
    publish(deltas) {
      published[me].push([...deltas]);
      const wire = JSON.parse(JSON.stringify(deltas)) as unknown[];
      listeners.forEach((set, other) => other !== me && set.forEach((listener) => listener(wire, `node-${me}`)));
    },
    subscribe(listener) {
      listeners[me].add(listener);
      return () => listeners[me].delete(listener);
    },
  }));
}

function node(exchange: StatsExchange, clock: FakeClock) {
  const events = new MemoryEventBus();
  const registry = new InstanceStatsRegistry(events, new BreakerTransitions());
  registry.onModuleInit();
  const sharing = new StatsSharing(registry, exchange, events, clock);
  sharing.onModuleInit();
  return { events, registry, sharing };
}

describe('StatsSharing', () => {
  let clock: FakeClock;
  let nodes: ReturnType<typeof node>[];
  let exchanges: ReturnType<typeof linkedExchanges>;

  beforeEach(() => {
    clock = new FakeClock(T0);
    exchanges = linkedExchanges(3);
    nodes = exchanges.map((exchange) => node(exchange, clock));
  });

  afterEach(() => {
    for (const one of nodes) {
      one.sharing.onModuleDestroy();
      one.registry.onModuleDestroy();
    }
  });

  it('moves the other nodes by what one node learned, in one batch per flush for every instance', () => {
    for (let i = 0; i < 20; i++) {
      clock.advance(10);
      nodes[0].registry.get('slow').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 900 });
      nodes[0].registry.get('fast').record({ at: clock.now(), outcome: 'TIMEOUT', latencyMs: 40 });
    }
    expect(exchanges[0].published).toEqual([]);
    nodes[0].sharing.flush();
    expect(exchanges[0].published).toHaveLength(1);
    expect(exchanges[0].published[0].map((delta) => delta.instanceId).sort()).toEqual(['fast', 'slow']);
    for (const other of [nodes[1], nodes[2]]) {
      const slow = other.registry.get('slow');
      const fast = other.registry.get('fast');
      slow.refresh(clock.now());
      fast.refresh(clock.now());
      expect(slow).toMatchObject({ calls: 20, successes: 20, latencyMs: 900 });
      expect(fast).toMatchObject({ calls: 20, failures: 20, latencyMs: 5000 });
    }
  });

  it('never sends on what it absorbed (no echo), only its own reports', () => {
    clock.advance(10);
    nodes[0].registry.get('x').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    nodes[0].sharing.flush();
    nodes[1].sharing.flush();
    expect(exchanges[1].published).toEqual([]);
    nodes[1].registry.get('y').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    nodes[1].sharing.flush();
    expect(exchanges[1].published.flat().map((delta) => delta.instanceId)).toEqual(['y']);
    expect(nodes[0].registry.get('x').calls).toBe(1);
  });

  it('adds what two nodes learned on a third', () => {
    clock.advance(10);
    nodes[0].registry.get('x').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    nodes[1].registry.get('x').record({ at: clock.now(), outcome: 'SERVER_ERROR', latencyMs: 100 });
    nodes[0].sharing.flush();
    nodes[1].sharing.flush();
    expect(nodes[2].registry.get('x')).toMatchObject({ calls: 2, successes: 1, failures: 1 });
  });

  it('forgets a deleted instance: its batches from other nodes are ignored, its own unsent one dropped', () => {
    nodes[0].registry.get('gone').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    nodes[1].registry.get('gone').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    const deleted = { type: 'instances.deleted', projectId: 'p', instanceIds: ['gone'] } as const;
    nodes[1].events.publish(deleted);
    nodes[2].events.publish(deleted);
    nodes[0].sharing.flush(); // node 0 has not heard of the deletion yet
    nodes[1].sharing.flush();
    expect(exchanges[1].published.flat()).toEqual([]);
    expect(nodes[1].registry.peek('gone')).toBeUndefined();
    expect(nodes[2].registry.peek('gone')).toBeUndefined();
  });

  it('skips malformed deltas and applies the rest of the batch', () => {
    const good = {
      instanceId: 'ok',
      buckets: [{ ago: 0, outcomes: { SUCCESS: 1 }, promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 }],
    };
    nodes[2].sharing.absorb([{ instanceId: 'bad', buckets: [{ ago: 0, outcomes: { SUCCESS: NaN } }] }, good], 'node-0');
    expect(nodes[2].registry.peek('bad')).toBeUndefined();
    expect(nodes[2].registry.get('ok').calls).toBe(1);
    expect(nestLogs.take('warn', 'Ignored malformed statistics from node node-0')).toHaveLength(1);
  });

  it('does nothing on a single node: no outboxes, no timer, nothing published', () => {
    const exchange = new MemoryStatsExchange();
    const publish = jest.spyOn(exchange, 'publish');
    const single = node(exchange, clock);
    single.registry.get('x').record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 100 });
    single.sharing.flush();
    expect(publish).not.toHaveBeenCalled();
    expect((single.registry.get('x') as unknown as { outbox: unknown }).outbox).toBeUndefined();
    expect((single.sharing as unknown as { timer: unknown }).timer).toBeUndefined();
    single.sharing.onModuleDestroy();
  });
});

describe('parseDelta', () => {
  const bucket = { ago: 5, outcomes: { SUCCESS: 2 }, promptTokens: 1, completionTokens: 2, totalTokens: 3, cost: 0 };
  const latency = {
    beforeCount: 0,
    beforeMean: 0,
    beforeAgo: 0,
    peak: 10,
    peakAgo: 1,
    afterCount: 1,
    afterMean: 5,
    afterAgo: 0,
  };

  it('accepts what an outbox sends', () => {
    const delta = { instanceId: 'i', buckets: [bucket], latency, ttft: { count: 1, mean: 3, ago: 0 } };
    expect(parseDelta(delta)).toEqual(delta);
  });

  it.each([
    ['no id', { buckets: [bucket] }],
    ['no buckets', { instanceId: 'i', buckets: [] }],
    ['an unknown outcome class', { instanceId: 'i', buckets: [{ ...bucket, outcomes: { FINE: 1 } }] }],
    ['a negative count', { instanceId: 'i', buckets: [{ ...bucket, outcomes: { SUCCESS: -1 } }] }],
    ['a string amount', { instanceId: 'i', buckets: [{ ...bucket, cost: '1' }] }],
    ['a missing sum', { instanceId: 'i', buckets: [{ ...bucket, totalTokens: undefined }] }],
    ['a latency without its peak', { instanceId: 'i', buckets: [bucket], latency: { ...latency, peak: null } }],
    ['an infinite TTFT', { instanceId: 'i', buckets: [bucket], ttft: { count: 1, mean: Infinity, ago: 0 } }],
    ['not an object', 'i'],
  ])('refuses %s', (_, data) => {
    expect(parseDelta(data)).toBeUndefined();
  });
});

import { describeWhenAvailable } from '../../test/utils/requirements';
import type { Clock } from '../common/clock';
import { ClusterBus } from './cluster-bus';
import { RedisAffinityStore } from './redis-affinity-store';
import { RedisLink } from './redis-link';
import { eventually, testCluster, type TestNode, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';
import { MemoryEventBus } from '../state/event-bus';

const redisUrl = testRedisUrl();
/** Real time (Redis expires keys in real time), which a test may move ahead for every node at once. */
const clock = new (class implements Clock {
  ahead = 0;
  now(): number {
    return Date.now() + this.ahead;
  }
})();
/** An affinity key as the selection service builds it, with characters a glob or a split would trip on. */
const KEY = 'p1|chat|gpt-4|session|user 42 * [x]';
const MINUTE = 60_000;
/** The per-project cap of these nodes (GATEWAY_MAX_AFFINITY_PER_PROJECT). */
const CAP = 5;
const config = { limits: { affinityPerProject: CAP } };

describeWhenAvailable('RedisAffinityStore: bindings shared between nodes', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>>;
  let stores: RedisAffinityStore[];

  const start = async (node: TestNode): Promise<RedisAffinityStore> => {
    const store = new RedisAffinityStore(node.link, node.bus, clock, config, new MemoryEventBus());
    await store.onModuleInit();
    stores.push(store);
    return store;
  };
  const redisValue = (key: string) => cluster.nodes[0].link.command.get(`${cluster.prefix}aff:${key}`);

  beforeEach(async () => {
    cluster = await testCluster(redisUrl!, ['a', 'b', 'c']);
    clock.ahead = 0;
    stores = [];
    for (const node of cluster.nodes) await start(node);
  });

  afterEach(async () => {
    for (const store of stores) store.onModuleDestroy();
    await cluster.close();
  });

  it('honours on B and C a binding made on A, and keeps it in Redis with its TTL', async () => {
    const [a, b, c] = stores;
    const now = Date.now();
    a.set(KEY, 'inst-1', MINUTE, now);
    expect(a.get(KEY, now)).toBe('inst-1');
    await eventually(
      () => expect([b.get(KEY, Date.now()), c.get(KEY, Date.now())]).toEqual(['inst-1', 'inst-1']),
      1000,
    );
    await eventually(async () => expect(await redisValue(KEY)).toBe(`${Math.floor(now)} a inst-1`));
    const ttl = await cluster.nodes[0].link.command.pttl(`${cluster.prefix}aff:${KEY}`);
    expect(ttl).toBeGreaterThan(MINUTE - 5000);
    expect(ttl).toBeLessThanOrEqual(MINUTE);
  });

  it('gives a node that starts later the bindings already made (loaded from Redis)', async () => {
    const now = Date.now();
    stores[0].set(KEY, 'inst-1', MINUTE, now);
    stores[1].set('other', 'inst-2', MINUTE, now);
    await eventually(async () => expect(await redisValue('other')).not.toBeNull());
    await eventually(async () => expect(await redisValue(KEY)).not.toBeNull());
    // Node d joins the same cluster (same prefix) afterwards.
    const link = new RedisLink({ redis: { kind: 'url', url: redisUrl! }, prefix: cluster.prefix, nodeId: 'd' });
    await link.connect(3000);
    const bus = new ClusterBus(link);
    await bus.onModuleInit();
    try {
      const d = new RedisAffinityStore(link, bus, clock, config, new MemoryEventBus());
      await d.onModuleInit();
      expect([d.get(KEY, Date.now()), d.get('other', Date.now())]).toEqual(['inst-1', 'inst-2']);
      d.onModuleDestroy();
    } finally {
      bus.onModuleDestroy();
      await link.onApplicationShutdown();
    }
  });

  it('reloads from Redis what a node missed while its subscription was down (resync)', async () => {
    const [a, b] = stores;
    const subscriber = cluster.nodes[1].link.subscriber;
    subscriber.disconnect();
    await eventually(() => expect(cluster.nodes[1].link.connected).toBe(false));
    const now = Date.now();
    a.set(KEY, 'inst-9', MINUTE, now);
    await eventually(async () => expect(await redisValue(KEY)).not.toBeNull());
    expect(b.get(KEY, Date.now())).toBeUndefined(); // the message went by while b was away
    await subscriber.connect();
    await eventually(() => expect(b.get(KEY, Date.now())).toBe('inst-9'), 3000);
    expect(cluster.nodes[1].bus.resyncCount).toBeGreaterThanOrEqual(1);
  });

  it('lets a binding expire with its TTL on every node and in Redis', async () => {
    const [a, b] = stores;
    a.set(KEY, 'inst-1', 400, Date.now());
    await eventually(() => expect(b.get(KEY, Date.now())).toBe('inst-1'), 1000);
    await eventually(() => expect(b.get(KEY, Date.now())).toBeUndefined(), 3000);
    expect(a.get(KEY, Date.now())).toBeUndefined();
    await eventually(async () => expect(await redisValue(KEY)).toBeNull(), 3000);
    await stores[2].resync();
    expect(stores[2].get(KEY, Date.now())).toBeUndefined();
  });

  it('tells the others of a refresh by use only once it moved the expiry by a tenth of the TTL', async () => {
    const [a, b] = stores;
    const heard: unknown[] = [];
    cluster.nodes[1].bus.on('affinity.bind', (data) => heard.push(data));
    const t0 = clock.now();
    a.set(KEY, 'inst-1', MINUTE, t0);
    for (let used = 1; used <= 50; used++) {
      clock.ahead += 100; // 5 s of use: the expiry moved by less than 6 s
      a.set(KEY, 'inst-1', MINUTE, clock.now());
    }
    clock.ahead += 1000;
    a.set(KEY, 'inst-1', MINUTE, clock.now());
    await eventually(() => expect(heard).toHaveLength(2));
    expect(heard.map((message) => (message as unknown[])[1])).toEqual(['inst-1', 'inst-1']);
    // b knows the later expiry (t0 + 66 s), give or take the time the message took.
    expect(b.get(KEY, t0 + MINUTE + 5500)).toBe('inst-1');
    expect(b.get(KEY, t0 + MINUTE + 7000)).toBeUndefined();
  });

  it('settles two binds of one key at the same moment on the same instance everywhere (the later, then the greater node)', async () => {
    const [a, b, c] = stores;
    const now = Date.now();
    a.set(KEY, 'inst-a', MINUTE, now);
    b.set(KEY, 'inst-b', MINUTE, now); // same millisecond: node b wins the tie
    await eventually(() =>
      expect(stores.map((store) => store.get(KEY, Date.now()))).toEqual(['inst-b', 'inst-b', 'inst-b']),
    );
    await eventually(async () => expect(await redisValue(KEY)).toBe(`${Math.floor(now)} b inst-b`));
    // A rebind on a is later than the binding it replaces, whatever the clocks say.
    a.set(KEY, 'inst-c', MINUTE, now);
    await eventually(() =>
      expect(stores.map((store) => store.get(KEY, Date.now()))).toEqual(['inst-c', 'inst-c', 'inst-c']),
    );
    await eventually(async () => expect(await redisValue(KEY)).toBe(`${Math.floor(now) + 1} a inst-c`));
    expect(c.size).toBe(1);
  });

  it('writes a binding made while Redis was away once it returns, and tells the others', async () => {
    const [a, b] = stores;
    const command = cluster.nodes[0].link.command;
    command.disconnect();
    await eventually(() => expect(cluster.nodes[0].link.connected).toBe(false));
    a.set(KEY, 'inst-7', MINUTE, Date.now());
    expect(a.get(KEY, Date.now())).toBe('inst-7'); // decided locally, nothing thrown
    await command.connect();
    await eventually(async () => expect(await redisValue(KEY)).toMatch(/ a inst-7$/), 3000);
    await eventually(() => expect(b.get(KEY, Date.now())).toBe('inst-7'), 3000);
  });

  it('unbinds everywhere', async () => {
    const [a, b] = stores;
    a.set(KEY, 'inst-1', MINUTE, Date.now());
    await eventually(() => expect(b.get(KEY, Date.now())).toBe('inst-1'));
    await eventually(async () => expect(await redisValue(KEY)).not.toBeNull());
    b.delete(KEY);
    await eventually(() => expect(a.get(KEY, Date.now())).toBeUndefined());
    await eventually(async () => expect(await redisValue(KEY)).toBeNull());
  });

  it("keeps the per-project cap on every node and in Redis: a flood evicts the flooder's least recently used, not another project's", async () => {
    const [a, b] = stores;
    const now = Date.now();
    a.set('victim|s', 'inst-v', MINUTE, now);
    for (let i = 0; i < 3 * CAP; i++) a.set(`flood|${i}`, 'inst-f', MINUTE, now);
    const flood = Array.from({ length: 3 * CAP }, (_, i) => `flood|${i}`);
    const newest = flood.slice(-CAP);
    await eventually(() =>
      expect(flood.map((key) => b.get(key, Date.now()) !== undefined)).toEqual(
        flood.map((key) => newest.includes(key)),
      ),
    );
    expect([a.get('victim|s', Date.now()), b.get('victim|s', Date.now())]).toEqual(['inst-v', 'inst-v']);
    expect(a.size).toBe(CAP + 1);
    // Redis holds the same: the evicted bindings were deleted there too.
    await eventually(async () => {
      const values = await Promise.all(flood.map((key) => redisValue(key)));
      expect(values.map((value) => value !== null)).toEqual(flood.map((key) => newest.includes(key)));
    });
    expect(await redisValue('victim|s')).toMatch(/ a inst-v$/);
  });

  it('does not delete from Redis an evicted key bound to another instance there since', async () => {
    const [a] = stores;
    const now = Date.now();
    a.set('p|0', 'inst-old', MINUTE, now);
    await eventually(async () => expect(await redisValue('p|0')).toMatch(/ a inst-old$/));
    // A rebind a has not heard of yet (as from a node whose message is still on its way).
    const newer = `${Math.floor(now) + 1} z inst-new`;
    await cluster.nodes[0].link.command.set(`${cluster.prefix}aff:p|0`, newer, 'PX', MINUTE);
    for (let i = 1; i <= CAP; i++) a.set(`p|${i}`, 'inst', MINUTE, now); // evicts p|0 on a
    expect(a.get('p|0', Date.now())).toBeUndefined();
    await eventually(async () => expect(await redisValue(`p|${CAP}`)).not.toBeNull());
    expect(await redisValue('p|0')).toBe(newer);
  });
});

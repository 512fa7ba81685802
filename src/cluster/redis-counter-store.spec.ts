import { describeWhenAvailable } from '../../test/utils/requirements';
import { Logger } from '@nestjs/common';
import { type Clock, FakeClock, SystemClock } from '../common/clock';
import { QuotaService } from '../rate-limit/quota.service';
import { readRoutingParams } from '../registry/routing-params';
import { MemoryEventBus } from '../state/event-bus';
import { TcpProxy } from '../../test/utils/tcp-proxy';
import { RedisCounterStore, SharedCounter } from './redis-counter-store';
import { eventually, startTestNode, testCluster, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ID = 'a'.repeat(32);
const RPM_60 = readRoutingParams({ rpmLimit: 60 });
const RPM_10 = readRoutingParams({ rpmLimit: 10 });

describe('SharedCounter', () => {
  it('counts unconfirmed increases once per node, decreases once, and a reply replaces what was seen', () => {
    const counter = new SharedCounter('rpm', ID, 'k');
    counter.add(T0, 2, T0);
    counter.add(T0, -1, T0);
    expect(counter.total(T0, 1)).toBe(1);
    expect(counter.total(T0, 3)).toBe(5); // 3 × 2 − 1
    const batch = counter.send();
    counter.add(T0 + 10, 1, T0 + 10); // after the sync left: still unconfirmed after its reply
    counter.acknowledge(batch, [String(T0 / 1000), '1', String(T0 / 1000 - 5), '4'], T0 + 20);
    // seen 5, the unconfirmed 1 three times, the 2 just confirmed twice more (the others' may be on their way)
    expect(counter.total(T0 + 20, 3)).toBe(5 + 3 + 4);
    expect(counter.total(T0 + 20, 1)).toBe(6);
    expect(counter.unconfirmed).toBe(true);
    const second = counter.send();
    counter.acknowledge(second, [String(T0 / 1000), '2', String(T0 / 1000 - 5), '4'], T0 + 30);
    expect(counter.total(T0 + 30, 3)).toBe(6 + 2);
    expect(counter.unconfirmed).toBe(false);
    counter.acknowledge(undefined, [String(T0 / 1000), '2', String(T0 / 1000 - 5), '4'], T0 + 40);
    expect(counter.total(T0 + 40, 3)).toBe(6); // a later reply: what the others added has landed
  });

  it('lets seconds leave the window: seen and unconfirmed alike', () => {
    const counter = new SharedCounter('rpm', ID, 'k');
    counter.acknowledge(undefined, [String(T0 / 1000), '5'], T0);
    counter.add(T0 + 1000, 1, T0 + 1000);
    expect(counter.total(T0 + 1000, 2)).toBe(7);
    expect(counter.msUntilAtMost(T0 + 1000, 2, 2)).toBe(60_000 - 1000);
    expect(counter.total(T0 + 60_000, 2)).toBe(2);
    expect(counter.total(T0 + 61_000, 2)).toBe(0);
  });

  it('a failed sync puts its adds back to be sent again', () => {
    const counter = new SharedCounter('rpm', ID, 'k');
    counter.add(T0, 3, T0);
    const batch = counter.send()!;
    expect(counter.hasUnsent).toBe(false);
    counter.retry(batch);
    expect(counter.hasUnsent).toBe(true);
    expect(counter.total(T0, 1)).toBe(3);
    const again = counter.send();
    expect([...again!]).toEqual([[T0 / 1000, { up: 3, down: 0 }]]);
  });
});

describeWhenAvailable('RedisCounterStore: nodes on one Redis', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>> | undefined;
  const stores: RedisCounterStore[] = [];
  const late: (() => Promise<void>)[] = [];

  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn']);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) store.onModuleDestroy();
    for (const close of late.splice(0)) await close();
    await cluster?.close();
    cluster = undefined;
  });

  /** The nodes of this test (each with its own Redis link and bus). */
  const startCluster = async (nodes: number) => {
    cluster = await testCluster(redisUrl!, ['a', 'b', 'c'].slice(0, nodes));
  };
  /** Node `n` of the cluster with its store (on the clock given), or a late one named `n`. */
  const startStore = async (n: number | string, clock: Clock = new SystemClock(), url?: string) => {
    let node = typeof n === 'number' ? cluster!.nodes[n] : undefined;
    if (node === undefined) {
      const started = await startTestNode(url ?? redisUrl!, cluster!.prefix, String(n));
      late.push(() => started.close());
      node = started;
    }
    const store = new RedisCounterStore(node.link, node.bus, clock);
    store.onModuleInit();
    stores.push(store);
    return { ...node, store };
  };
  /** Waits until every store counts its unconfirmed adds for all of them (heartbeats, 1 s). */
  const meshed = (all: readonly RedisCounterStore[]) =>
    eventually(() => all.every((store) => store.nodes === all.length), 3000);

  it('an add on one node is in the total of another after a sync', async () => {
    const clock = new FakeClock(T0);
    await startCluster(2);
    const a = await startStore(0, clock);
    const b = await startStore(1, clock);
    a.store.add('rpm', ID, T0, 5, T0);
    a.store.add('tpm', ID, T0 - 2000, 800, T0);
    a.store.add('tpm', ID, T0 - 2000, -300, T0);
    await a.store.syncNow();
    expect(b.store.total('rpm', ID, T0)).toBe(0); // the first look loads it behind the caller
    await eventually(() => {
      const seen = [b.store.total('rpm', ID, T0), b.store.total('tpm', ID, T0)];
      return seen[0] === 5 && seen[1] === 500;
    });
    // The buckets keep their seconds: the tokens leave the window 2 s before the requests.
    expect(b.store.total('tpm', ID, T0 + 58_000)).toBe(0);
    expect(b.store.total('rpm', ID, T0 + 58_000)).toBe(5);
    expect(b.store.msUntilAtMost('rpm', ID, T0 + 58_000, 0)).toBe(2000);
  });

  it('rpmLimit 60, 120 decisions spread round-robin over 3 nodes one after another: 54–66 granted', async () => {
    await startCluster(3);
    const all = await Promise.all([0, 1, 2].map((n) => startStore(n)));
    await meshed(all.map((node) => node.store));
    const quotas = all.map((node) => new QuotaService(node.store, new MemoryEventBus()));
    let granted = 0;
    for (let i = 0; i < 120; i++) {
      const quota = quotas[i % 3];
      const now = Date.now();
      if (quota.check(ID, RPM_60, now) === undefined) {
        quota.recordDecision(ID, RPM_60, now);
        granted++;
      }
      await new Promise((resolve) => setTimeout(resolve, 2)); // an HTTP round trip, roughly
    }
    expect(granted).toBeGreaterThanOrEqual(54);
    expect(granted).toBeLessThanOrEqual(66);
  });

  it('rpmLimit 60, 120 decisions on 3 nodes at the same instant: they share the limit, not triple it', async () => {
    const clock = new FakeClock(T0);
    await startCluster(3);
    const all = await Promise.all([0, 1, 2].map((n) => startStore(n, clock)));
    await meshed(all.map((node) => node.store));
    const quotas = all.map((node) => new QuotaService(node.store, new MemoryEventBus()));
    const decide = (quota: QuotaService): boolean => {
      if (quota.check(ID, RPM_60, clock.now()) !== undefined) return false;
      quota.recordDecision(ID, RPM_60, clock.now());
      return true;
    };
    let granted = 0;
    // Bursts in one turn of the event loop (no reply can arrive in between); between bursts the
    // nodes exchange what they counted (an explicit sync, not a few event-loop turns, which a
    // loaded machine's Redis round trips outlast).
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 10; i++) if (decide(quotas[(round + i) % 3])) granted++;
      await Promise.all(all.map((node) => node.store.syncNow()));
    }
    expect(granted).toBeGreaterThanOrEqual(54);
    expect(granted).toBeLessThanOrEqual(66);
    await Promise.all(all.map((node) => node.store.syncNow()));
    await eventually(() => all.every((node) => node.store.total('rpm', ID, clock.now()) === granted));
  });

  it('a node alone at the limit is told to retry soon when only its own recent adds stand in the way', async () => {
    const clock = new FakeClock(T0);
    await startCluster(2);
    const [a, b] = await Promise.all([startStore(0, clock), startStore(1, clock)]);
    await meshed([a.store, b.store]);
    const quota = new QuotaService(a.store, new MemoryEventBus());
    for (let i = 0; i < 5; i++) quota.recordDecision(ID, RPM_10, T0);
    expect(quota.check(ID, RPM_10, T0)?.retryAt).toBe(T0 + 100); // 2 × 5 unconfirmed
    await a.store.syncNow(); // confirmed: b may have added as much at the same moment…
    expect(quota.check(ID, RPM_10, T0)?.retryAt).toBe(T0 + 100);
    // …and the refusal asked Redis again: b added nothing, a may go on.
    await eventually(() => quota.check(ID, RPM_10, T0) === undefined);
    expect(a.store.total('rpm', ID, T0)).toBe(5);
  });

  it('a cool-down reaches the other nodes at once, and a node starting later loads it from Redis', async () => {
    const clock = new FakeClock(T0);
    await startCluster(2);
    const a = await startStore(0, clock);
    const b = await startStore(1, clock);
    expect(a.store.extendDeadline('cooldown', ID, T0 + 30_000)).toBe(T0 + 30_000);
    await eventually(() => b.store.deadline('cooldown', ID, T0) === T0 + 30_000, 1000);
    expect(b.store.extendDeadline('cooldown', ID, T0 + 10_000)).toBe(T0 + 30_000); // never shortened
    const c = await startStore('late', clock);
    await eventually(() => c.store.deadline('cooldown', ID, T0) === T0 + 30_000, 1000);
    expect(c.store.deadline('cooldown', ID, T0 + 30_000)).toBeUndefined();
  });

  it('forget drops the instance here and in Redis', async () => {
    const clock = new FakeClock(T0);
    await startCluster(1);
    const a = await startStore(0, clock);
    a.store.add('rpm', ID, T0, 3, T0);
    a.store.extendDeadline('cooldown', ID, T0 + 30_000);
    await a.store.syncNow();
    const inRedis = async () => ({
      counters: await a.link.command.exists(a.link.key('ctr', 'rpm', ID), a.link.key('ctr', 'tpm', ID)),
      cooldown: await a.link.command.hget(a.link.key('deadline', 'cooldown'), ID),
    });
    await eventually(async () => (await inRedis()).cooldown !== null);
    expect((await inRedis()).counters).toBe(1);
    a.store.forget(ID);
    expect(a.store.total('rpm', ID, T0)).toBe(0);
    expect(a.store.deadline('cooldown', ID, T0)).toBeUndefined();
    expect(await inRedis()).toEqual({ counters: 0, cooldown: null });
    const b = await startStore('late', clock);
    await b.store.loadDeadlines();
    await b.store.syncNow();
    expect(b.store.total('rpm', ID, T0)).toBe(0);
    expect(b.store.deadline('cooldown', ID, T0)).toBeUndefined();
  });

  it('keeps counting through a Redis outage and hands the counts over when Redis returns', async () => {
    const clock = new FakeClock(T0);
    const target = new URL(redisUrl!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start();
    try {
      const proxied = new URL(redisUrl!);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      await startCluster(1); // b; a reaches Redis through the proxy
      const b = await startStore(0, clock);
      const a = await startStore('a-proxied', clock, proxied.toString());
      await meshed([a.store, b.store]);
      a.store.add('rpm', ID, T0, 1, T0);
      await a.store.syncNow();
      await a.store.syncNow(); // a second reply: b added nothing meanwhile
      await proxy.cut();
      await eventually(() => !a.link.connected);
      for (let i = 0; i < 4; i++) a.store.add('rpm', ID, T0, 1, T0);
      a.store.extendDeadline('cooldown', ID, T0 + 20_000);
      // Unconfirmed adds count once per node known before the outage: a keeps to its share.
      expect(a.store.total('rpm', ID, T0)).toBe(1 + 2 * 4);
      expect(b.store.total('rpm', ID, T0)).toBe(0);
      await proxy.restore();
      await eventually(() => a.link.connected, 5000);
      await eventually(() => b.store.total('rpm', ID, T0) === 5, 3000);
      await eventually(() => a.store.total('rpm', ID, T0) === 5, 3000);
      const stored = await b.link.command.hget(b.link.key('deadline', 'cooldown'), ID);
      expect(Number(stored)).toBe(T0 + 20_000);
    } finally {
      await proxy.cut();
    }
  });
});

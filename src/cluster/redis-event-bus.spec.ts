import { describeWhenAvailable } from '../../test/utils/requirements';
import type { EventOrigin, StateEvent } from '../state/state-events';
import { RedisEventBus } from './redis-event-bus';
import { eventually, testCluster, redisMissing, testRedisUrl } from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();

describeWhenAvailable('RedisEventBus and ClusterBus: events reach every node', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>>;
  let buses: RedisEventBus[];
  let heard: [StateEvent, EventOrigin][][];

  beforeEach(async () => {
    cluster = await testCluster(redisUrl!, ['a', 'b']);
    buses = cluster.nodes.map((node) => new RedisEventBus(node.bus));
    heard = buses.map(() => []);
    buses.forEach((bus, i) => {
      bus.onModuleInit();
      bus.subscribe('apikey.changed', (event, origin) => heard[i].push([event, origin]));
      bus.subscribe('state.resync', (event, origin) => heard[i].push([event, origin]));
    });
  });

  afterEach(async () => {
    for (const bus of buses) bus.onModuleDestroy();
    await cluster.close();
  });

  it('delivers here at once (local) and on the other node as remote, never back to the sender', async () => {
    buses[0].publish({ type: 'apikey.changed', keyHash: 'h1' });
    expect(heard[0]).toEqual([[{ type: 'apikey.changed', keyHash: 'h1' }, { remote: false }]]);
    await eventually(() => expect(heard[1]).toEqual([[{ type: 'apikey.changed', keyHash: 'h1' }, { remote: true }]]));
    buses[1].publish({ type: 'apikey.changed', keyHash: 'h2' });
    await eventually(() => expect(heard[0]).toHaveLength(2));
    expect(heard[1]).toHaveLength(2); // its own, once
  });

  it('keeps the order of events sent in one turn', async () => {
    for (let i = 0; i < 50; i++) buses[0].publish({ type: 'apikey.changed', keyHash: `k${i}` });
    await eventually(() => expect(heard[1]).toHaveLength(50));
    expect(heard[1].map(([event]) => (event as { keyHash: string }).keyHash)).toEqual(
      Array.from({ length: 50 }, (_, i) => `k${i}`),
    );
  });

  it('resynchronises a node that missed messages (a gap in the sender sequence), and never sends state.resync', async () => {
    buses[0].publish({ type: 'apikey.changed', keyHash: 'first' });
    await eventually(() => expect(heard[1]).toHaveLength(1));
    // A lost publish: the sender used a sequence number nobody received.
    const sender = cluster.nodes[0].bus as unknown as { seq: number };
    sender.seq++;
    buses[0].publish({ type: 'apikey.changed', keyHash: 'after-gap' });
    await eventually(() =>
      expect(heard[1].map(([event]) => event.type).sort()).toEqual([
        'apikey.changed',
        'apikey.changed',
        'state.resync',
      ]),
    );
    expect(heard[0].map(([event]) => event.type)).toEqual(['apikey.changed', 'apikey.changed']);
    expect(cluster.nodes[1].bus.resyncCount).toBe(1);
  });

  it('ignores malformed messages on the channel and keeps delivering', async () => {
    const channel = `${cluster.prefix}bus`;
    for (const garbage of [
      'null',
      '{',
      '"text"',
      '{"n":"x","b":"y","s":1,"m":[5,[7,1],null]}',
      '{"n":1,"b":"y","s":1,"m":[]}',
    ]) {
      await cluster.nodes[0].link.command.publish(channel, garbage);
    }
    buses[0].publish({ type: 'apikey.changed', keyHash: 'still-here' });
    await eventually(() =>
      expect(heard[1].map(([event]) => (event as { keyHash?: string }).keyHash)).toContain('still-here'),
    );
  });

  it('knows the live nodes from their heartbeats', async () => {
    await eventually(() => expect(cluster.nodes[1].bus.nodes()).toEqual(['a', 'b']), 3000);
  });
});

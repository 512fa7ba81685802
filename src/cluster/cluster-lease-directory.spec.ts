import { describeWhenAvailable } from '../../test/utils/requirements';
import { Logger } from '@nestjs/common';
import { ID_PATTERN } from '../common/ids';
import type { RelayedLeaseClose } from '../state/lease-directory';
import { ClusterLeaseDirectory, decodeSelectionId, encodeSelectionId, nodeTag } from './cluster-lease-directory';
import {
  type TestNode,
  eventually,
  startTestNode,
  testCluster,
  redisMissing,
  testRedisUrl,
} from './testing/redis-nodes.testing';

const redisUrl = testRedisUrl();

const INSTANCE = 'b'.repeat(32);
const PROJECT = 'c'.repeat(32);

describe('cluster selectionIds', () => {
  it('stay 32 lowercase hex and carry the node tag, the probe flag and the expiry', () => {
    const tag = nodeTag('gateway-a-1234');
    for (const lease of [
      { probe: false, expiresAt: Date.UTC(2026, 0, 1, 12, 0, 5) },
      { probe: true, expiresAt: Date.UTC(2026, 0, 1, 12, 1, 0, 123) },
      { probe: true, expiresAt: 0 },
      { probe: false, expiresAt: Date.UTC(2400, 0, 1) },
    ]) {
      const id = encodeSelectionId(tag, lease);
      expect(id).toMatch(ID_PATTERN);
      expect(decodeSelectionId(id)).toEqual({ tag, ...lease });
    }
  });

  it('are unique and random past the facts', () => {
    const lease = { probe: false, expiresAt: Date.UTC(2026, 0, 1) };
    const ids = new Set(Array.from({ length: 10_000 }, () => encodeSelectionId('abcd', lease)));
    expect(ids.size).toBe(10_000);
  });

  it('a node tag is four hex digits of the node id, and other ids are not cluster ids', () => {
    expect(nodeTag('a')).toMatch(/^[0-9a-f]{4}$/);
    expect(nodeTag('a')).toBe(nodeTag('a'));
    expect(nodeTag('a')).not.toBe(nodeTag('b'));
    expect(decodeSelectionId('abcd0' + '0'.repeat(27))).toBeUndefined(); // marker 0: a plain random id
    expect(decodeSelectionId('not-an-id')).toBeUndefined();
    expect(decodeSelectionId('ABCD8' + '0'.repeat(27))).toBeUndefined();
  });
});

describeWhenAvailable('ClusterLeaseDirectory: nodes on one Redis', redisMissing(), () => {
  let cluster: Awaited<ReturnType<typeof testCluster>> | undefined;
  const directories: ClusterLeaseDirectory[] = [];
  const late: (() => Promise<void>)[] = [];

  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn']);
  });
  afterEach(async () => {
    for (const directory of directories.splice(0)) directory.onModuleDestroy();
    for (const close of late.splice(0)) await close();
    await cluster?.close();
    cluster = undefined;
  });

  /** A directory on `node`, recording what it hears. */
  const directoryOn = (node: TestNode) => {
    const directory = new ClusterLeaseDirectory(node.bus);
    directory.onModuleInit();
    directories.push(directory);
    const remote = new Map<string, number>();
    directory.onRemoteOpen((instanceId, open) => remote.set(instanceId, open));
    const closes: RelayedLeaseClose[] = [];
    directory.onRelayedClose((close) => closes.push(close));
    return { node, directory, remote, closes };
  };
  const start = async (count: number) => {
    cluster = await testCluster(redisUrl!, ['node-a', 'node-b', 'node-c'].slice(0, count));
    return cluster.nodes.map(directoryOn);
  };

  it('open-lease counts reach the other node as they change', async () => {
    const [a, b] = await start(2);
    a.directory.publishOpen(INSTANCE, 1);
    a.directory.publishOpen(INSTANCE, 2);
    await eventually(() => b.remote.get(INSTANCE) === 2, 1000);
    expect(b.directory.remoteOpen(INSTANCE)).toBe(2);
    expect(a.directory.remoteOpen(INSTANCE)).toBe(0);
    a.directory.publishOpen(INSTANCE, 0);
    await eventually(() => b.remote.get(INSTANCE) === 0, 1000);
  });

  it('a close by selectionId goes to the node that opened the lease, with what the report node needs', async () => {
    const [a, b] = await start(2);
    a.directory.publishOpen(INSTANCE, 1); // b hears of a (full counts also go every second)
    await eventually(() => b.remote.get(INSTANCE) === 1, 1000);
    const expiresAt = Date.now() + 30_000;
    const probe = a.directory.newSelectionId({ probe: true, expiresAt });
    const plain = a.directory.newSelectionId({ probe: false, expiresAt });
    expect(
      b.directory.relayClose({ projectId: PROJECT, instanceId: INSTANCE, selectionId: probe, usedTokens: 7 }),
    ).toEqual({ probeExpiresAt: expiresAt });
    expect(b.directory.relayClose({ projectId: PROJECT, instanceId: INSTANCE, selectionId: plain })).toEqual({
      probeExpiresAt: undefined,
    });
    await eventually(() => a.closes.length === 2, 1000);
    expect(a.closes[0]).toEqual({ projectId: PROJECT, instanceId: INSTANCE, selectionId: probe, usedTokens: 7 });
    expect(b.closes).toEqual([]);
    // Its own ids, and ids of no live node, are not relayed: nobody else could hold them.
    expect(a.directory.relayClose({ projectId: PROJECT, instanceId: INSTANCE, selectionId: probe })).toBeUndefined();
    const stranger = encodeSelectionId(nodeTag('gone'), { probe: false, expiresAt });
    expect(b.directory.relayClose({ projectId: PROJECT, instanceId: INSTANCE, selectionId: stranger })).toBeUndefined();
  });

  it('a close without selectionId goes to the node holding the most leases of the instance, only to it', async () => {
    const [a, b, c] = await start(3);
    a.directory.publishOpen(INSTANCE, 1);
    b.directory.publishOpen(INSTANCE, 3);
    await eventually(() => c.remote.get(INSTANCE) === 4, 1000);
    const close = { projectId: PROJECT, instanceId: INSTANCE, callStartedAt: Date.now() - 500, usedTokens: 12 };
    expect(c.directory.relayClose(close)).toEqual({ probeExpiresAt: undefined });
    await eventually(() => b.closes.length === 1, 1000);
    expect(b.closes[0]).toEqual(close);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.closes).toEqual([]);
    // Nobody holds a lease of another instance: nothing to relay.
    expect(c.directory.relayClose({ projectId: PROJECT, instanceId: 'd'.repeat(32) })).toBeUndefined();
  });

  it('a node that leaves takes its counts with it', async () => {
    const [a, b] = await start(2);
    a.directory.publishOpen(INSTANCE, 2);
    await eventually(() => b.remote.get(INSTANCE) === 2, 1000);
    a.directory.onModuleDestroy(); // shutting down: says it holds nothing
    await eventually(() => b.remote.get(INSTANCE) === 0, 1000);
  });

  it('a restarted node replaces its counts within a second', async () => {
    const [a, b] = await start(2);
    b.directory.publishOpen(INSTANCE, 2);
    await eventually(() => a.remote.get(INSTANCE) === 2, 1000);
    // b crashes (its goodbye is lost with its connection) and restarts under the same node id: its
    // new directory holds nothing, and says so every second.
    cluster!.nodes.splice(1, 1);
    b.node.bus.onModuleDestroy();
    await b.node.link.onApplicationShutdown();
    b.directory.onModuleDestroy();
    const restarted = await startTestNode(redisUrl!, cluster!.prefix, 'node-b');
    late.push(() => restarted.close());
    const again = directoryOn(restarted);
    again.directory.publishOpen('e'.repeat(32), 1);
    await eventually(() => a.remote.get(INSTANCE) === 0, 2500);
    expect(a.directory.remoteOpen('e'.repeat(32))).toBe(1);
  });
});

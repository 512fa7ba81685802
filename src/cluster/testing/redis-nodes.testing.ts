import { eventually as poll } from '../../../test/utils/eventually';
import { newRandomId } from '../../common/ids';
import { ClusterBus } from '../cluster-bus';
import { RedisLink } from '../redis-link';

/**
 * `TEST_REDIS_URL` (e.g. redis://127.0.0.1:6379/15), and what is missing without it: pass both to
 * `describeWhenAvailable` (test/utils/requirements.ts), which fails the suite under `CI=true`
 * instead of shrinking the run, and reports it as skipped elsewhere.
 *
 * @example
 * const redisUrl = testRedisUrl();
 * describeWhenAvailable('RedisThing', redisMissing(), () => { … testCluster(redisUrl!, ['a', 'b']) … });
 */
export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}

export function redisMissing(): string[] {
  return testRedisUrl()
    ? []
    : ['TEST_REDIS_URL is not set: the Redis suites need a server (e.g. TEST_REDIS_URL=redis://127.0.0.1:6379/15)'];
}

/** One simulated node: its own Redis connections and cluster bus. */
export interface TestNode {
  readonly link: RedisLink;
  readonly bus: ClusterBus;
}

/**
 * Simulated nodes of one cluster on one Redis, under a fresh prefix (suites sharing a Redis never
 * see each other's keys). `close()` deletes the prefix's keys and disconnects.
 *
 * @example
 * const cluster = await testCluster(redisUrl, ['a', 'b']);
 * const storeA = new RedisBreakerStore(cluster.nodes[0].link, cluster.nodes[0].bus);
 */
export async function testCluster(
  url: string,
  nodeIds: readonly string[],
): Promise<{ readonly prefix: string; readonly nodes: TestNode[]; close(): Promise<void> }> {
  const prefix = `test:${newRandomId().slice(0, 12)}:`;
  const nodes: TestNode[] = [];
  for (const nodeId of nodeIds) {
    const link = new RedisLink({ redis: { kind: 'url', url }, prefix, nodeId });
    if (!(await link.connect(3000))) throw new Error(`Redis at ${url} does not answer`);
    const bus = new ClusterBus(link);
    await bus.onModuleInit();
    nodes.push({ link, bus });
  }
  return {
    prefix,
    nodes,
    async close() {
      const [first] = nodes;
      if (first !== undefined) {
        let cursor = '0';
        do {
          const [next, keys] = await first.link.command.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await first.link.command.del(...keys);
        } while (cursor !== '0');
      }
      for (const node of nodes) {
        node.bus.onModuleDestroy();
        await node.link.onApplicationShutdown();
      }
    },
  };
}

/**
 * Polls `check` until it stops throwing and does not return false, or fails with its last error
 * after `timeoutMs`: the specs' short form of the suites' {@link poll} (one loop, one message).
 */
export function eventually(check: () => unknown, timeoutMs = 2000): Promise<void> {
  return poll(
    async () => {
      if ((await check()) === false) throw new Error('still false');
    },
    { timeoutMs, intervalMs: 10 },
  );
}

/**
 * One node started on its own, for a cluster made by {@link testCluster} (same `prefix`): a node
 * that joins later, a restart under the same id, or one reaching Redis through a proxy's `url`.
 * Close it before the cluster (whose `close()` deletes the keys).
 *
 * @example
 * const late = await startTestNode(redisUrl, cluster.prefix, 'c');
 * await late.close();
 */
export async function startTestNode(
  url: string,
  prefix: string,
  nodeId: string,
): Promise<TestNode & { close(): Promise<void> }> {
  const link = new RedisLink({ redis: { kind: 'url', url }, prefix, nodeId });
  if (!(await link.connect(3000))) throw new Error(`Redis at ${url} does not answer`);
  const bus = new ClusterBus(link);
  await bus.onModuleInit();
  let closed: Promise<void> | undefined;
  return {
    link,
    bus,
    close: () =>
      (closed ??= (async () => {
        bus.onModuleDestroy();
        await link.onApplicationShutdown();
      })()),
  };
}

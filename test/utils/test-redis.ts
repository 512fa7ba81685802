import Redis from 'ioredis';
import { ClusterBus } from '../../src/cluster/cluster-bus';
import { RedisLink } from '../../src/cluster/redis-link';
import { newRandomId } from '../../src/common/ids';
import type { ClusterConfig } from '../../src/config/cluster-config';

/** The Redis of specs that need one, e.g. redis://127.0.0.1:6379/15 (`.ci/run` sets it). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

/**
 * `describe` when `TEST_REDIS_URL` is set. Without it: a failing suite on CI (`CI=true`), where a
 * missing Redis must not pass unnoticed, and a skipped one with the reason elsewhere.
 *
 * @example
 * describeWithRedis('RedisCounterStore', (url) => { it('…', async () => { … }) });
 */
export function describeWithRedis(name: string, suite: (url: string) => void): void {
  const url = TEST_REDIS_URL;
  if (url) {
    describe(name, () => suite(url));
    return;
  }
  const reason = 'TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15; .ci/run sets it)';
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Redis', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${reason})`, () => suite(''));
}

/** A prefix of its own for one test, so suites can share one Redis. */
export function testPrefix(): string {
  return `test:${newRandomId().slice(0, 12)}:`;
}

/** A node's cluster configuration on `url` (or on `host:port` of a proxy in front of it). */
export function testClusterConfig(url: string, prefix: string, nodeId: string, port?: number): ClusterConfig {
  const target = new URL(url);
  if (port !== undefined) {
    target.hostname = '127.0.0.1';
    target.port = String(port);
  }
  return { redis: { kind: 'url', url: target.toString() }, prefix, nodeId };
}

/** Deletes every key of `prefix` (SCAN, not KEYS: the Redis may be shared). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; fails with `what` then. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One node's Redis link and cluster bus, as ClusterModule makes them. */
export interface TestClusterNode {
  readonly link: RedisLink;
  readonly bus: ClusterBus;
  close(): Promise<void>;
}

/** Connects a node (its link and bus) and starts its bus. `close` may be called more than once. */
export async function startClusterNode(config: ClusterConfig): Promise<TestClusterNode> {
  const link = new RedisLink(config);
  await link.connect(3000);
  const bus = new ClusterBus(link);
  await bus.onModuleInit();
  let closed: Promise<void> | undefined;
  return {
    link,
    bus,
    close: () => {
      closed ??= (async () => {
        bus.onModuleDestroy();
        await link.onModuleDestroy();
      })();
      return closed;
    },
  };
}

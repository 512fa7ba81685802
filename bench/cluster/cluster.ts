/**
 * Cluster mode for the benchmarks (docs/cluster.md): a fresh MySQL/MariaDB database and a fresh
 * Redis key prefix per run, N gateway nodes on them, and the polls that say when every node has
 * learnt what was written through one of them.
 *
 * The servers come from the environment, with local defaults:
 * - `BENCH_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`): the server the run's database
 *   (`bench_<label>_<hex>`) is created on, and dropped from afterwards;
 * - `BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`): the Redis every node shares, under the
 *   run's own `GATEWAY_REDIS_PREFIX` (`bench-<label>-<hex>:`), whose keys are deleted afterwards.
 *
 * @example
 * const backing = await prepareBacking('http');
 * try {
 *   const nodes = await startNodes(2, { backing, args: ['dist/main.js'], env: { LOG_LEVEL: 'warn' } });
 *   // … seed through nodes[0], then: await waitServed(nodes.slice(1), key, ids, 10_000);
 * } finally {
 *   await backing.dispose();
 * }
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { type ServerChild, startServer, stopServer } from '../http/children';
import { childEnv } from '../http/session';

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** GATEWAY_NODE_ID of the nodes, in start order. */
export const NODE_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The shared database and Redis prefix of one benchmark run. */
export interface ClusterBacking {
  /** The fresh database, e.g. `mysql://root@127.0.0.1:3306/bench_http_1a2b3c4d`. */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** This run's `GATEWAY_REDIS_PREFIX`. */
  readonly prefix: string;
  /** The redis-server process when it runs on this machine (its CPU is then measured), else undefined. */
  readonly redisPid?: number;
  /** The environment of node `nodeId`: DATABASE_URL, REDIS_URL, GATEWAY_REDIS_PREFIX, GATEWAY_NODE_ID. */
  nodeEnv(nodeId: string): Record<string, string>;
  /** Drops the database and deletes the prefix's keys. Idempotent; never throws. */
  dispose(): Promise<void>;
}

/** Runs one admin statement (CREATE/DROP DATABASE) on the server of a mysql:// URL (user, password, host, port). */
export async function mysqlAdmin(serverUrl: string, sql: string): Promise<void> {
  const url = new URL(serverUrl);
  const connection = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

/** redis-server's pid from INFO, when it is a process of this machine that /proc shows. */
async function localRedisPid(redis: Redis, redisUrl: string): Promise<number | undefined> {
  const host = new URL(redisUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return undefined;
  const info = await redis.info('server');
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  if (!Number.isInteger(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK: never KEYS on a shared server). */
async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Creates the run's database on `BENCH_MYSQL_URL`'s server and checks that `BENCH_REDIS_URL`
 * answers. `label` (letters and digits) names the database and the prefix.
 */
export async function prepareBacking(label: string): Promise<ClusterBacking> {
  const mysqlUrl = (process.env.BENCH_MYSQL_URL ?? DEFAULT_MYSQL_URL).replace(/\/+$/, '');
  const redisUrl = process.env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL;
  const suffix = randomBytes(4).toString('hex');
  const schema = `bench_${label}_${suffix}`;
  const prefix = `bench-${label}-${suffix}:`;
  const server = new URL(mysqlUrl);
  server.pathname = '';
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`Redis at ${redisUrl} (BENCH_REDIS_URL) does not answer: ${String(error)}`);
  }
  try {
    await mysqlAdmin(
      server.toString(),
      `CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot create a database on ${server.host} (BENCH_MYSQL_URL): ${String(error)}`);
  }
  const database = new URL(server.toString());
  database.pathname = `/${schema}`;
  const redisPid = await localRedisPid(redis, redisUrl).catch(() => undefined);
  let disposed = false;
  return {
    databaseUrl: database.toString(),
    redisUrl,
    prefix,
    redisPid,
    nodeEnv: (nodeId) => ({
      DATABASE_URL: database.toString(),
      REDIS_URL: redisUrl,
      GATEWAY_REDIS_PREFIX: prefix,
      GATEWAY_NODE_ID: nodeId,
    }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await mysqlAdmin(server.toString(), `DROP DATABASE IF EXISTS \`${schema}\``).catch((error: unknown) => {
        process.stderr.write(`[cluster] could not drop database ${schema}: ${String(error)}\n`);
      });
      await deletePrefix(redis, prefix).catch((error: unknown) => {
        process.stderr.write(`[cluster] could not delete Redis keys ${prefix}*: ${String(error)}\n`);
      });
      redis.disconnect();
    },
  };
}

export interface NodesOptions {
  readonly backing: ClusterBacking;
  /** node's arguments, e.g. `[dist/main.js]`. */
  readonly args: readonly string[];
  /** Environment every node gets on top of {@link childEnv} and the backing's variables. */
  readonly env: Record<string, string>;
  readonly timeoutMs?: number;
  readonly log?: (message: string) => void;
}

/**
 * Starts `count` gateway nodes (GATEWAY_NODE_ID a, b, c …), one after the other: the first runs
 * the migrations on the fresh database and seeds the bootstrap rows, and the next ones start on a
 * migrated database (nodes starting at once on an empty one would race the migrations). Resolves
 * once every node is ready and sees all `count` nodes in `/api/health`; stops them on failure.
 */
export async function startNodes(count: number, options: NodesOptions): Promise<ServerChild[]> {
  if (count < 1 || count > NODE_IDS.length) throw new Error(`between 1 and ${NODE_IDS.length} nodes, not ${count}`);
  const nodes: ServerChild[] = [];
  try {
    for (const nodeId of NODE_IDS.slice(0, count)) {
      const node = await startServer({
        name: `gateway node ${nodeId}`,
        args: options.args,
        env: childEnv({ ...options.env, ...options.backing.nodeEnv(nodeId) }),
        readyPath: '/api/health/ready',
        timeoutMs: options.timeoutMs ?? 60_000,
      });
      nodes.push(node);
      options.log?.(`node ${nodeId}: pid ${node.pid} at ${node.url}`);
    }
    await waitUntil(
      async () => {
        const seen = await Promise.all(nodes.map((node) => liveNodes(node.url)));
        return seen.every((ids) => ids.length >= count);
      },
      options.timeoutMs ?? 60_000,
      () => `the ${count} nodes did not all see each other in /api/health`,
    );
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map((node) => stopServer(node)));
    throw error;
  }
}

/** The node ids `/api/health` lists as live (empty on a single node or on error). */
async function liveNodes(url: string): Promise<string[]> {
  try {
    const response = await fetch(`${url}/api/health`);
    const body = (await response.json()) as { data?: { cluster?: { nodes?: string[] } } };
    return body.data?.cluster?.nodes ?? [];
  } catch {
    return [];
  }
}

/** Polls `done` every 50 ms until it holds; throws `message()` after `timeoutMs`. Resolves with the ms it took. */
export async function waitUntil(
  done: () => Promise<boolean>,
  timeoutMs: number,
  message: () => string,
): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  for (;;) {
    if (await done()) return Math.round(performance.now() - started);
    if (performance.now() > deadline) throw new Error(`${message()} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Waits until every node in `urls` serves every instance in `ids` to the project `key`
 * (`GET /api/instances/:id` reads the node's in-memory registry index: a 200 means the node learnt
 * the registration through the cluster's events). Resolves with the ms it took.
 */
export async function waitServed(
  urls: readonly string[],
  key: string,
  ids: readonly string[],
  timeoutMs: number,
): Promise<number> {
  const missing = new Set(urls.flatMap((url) => ids.map((id) => `${url}/api/instances/${id}`)));
  return waitUntil(
    async () => {
      await Promise.all(
        [...missing].map(async (address) => {
          const response = await fetch(address, { headers: { 'api-key': key } }).catch(() => undefined);
          await response?.arrayBuffer().catch(() => undefined);
          if (response?.status === 200) missing.delete(address);
        }),
      );
      return missing.size === 0;
    },
    timeoutMs,
    () => `${missing.size} instance(s) not served yet, e.g. ${[...missing][0]}`,
  );
}

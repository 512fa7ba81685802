import { hostname } from 'node:os';
import type { EnvReader } from './env-parsers';

/** Where Redis is: one server by URL, or a master found through Redis Sentinel. */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      /** The master's name as the sentinels know it. */
      readonly name: string;
      readonly password: string | undefined;
      readonly db: number;
    };

/** Cluster mode (docs/cluster.md): on when `REDIS_URL` is set. */
export interface ClusterConfig {
  readonly redis: RedisTarget;
  /** Prefixes every Redis key and pub/sub channel, so several clusters can share one Redis. */
  readonly prefix: string;
  /** Names this node in logs, `/api/health` and metrics. */
  readonly nodeId: string;
}

const SENTINEL = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/@]+)\/([^/?#]+)(?:\/(\d+))?$/;

/**
 * `REDIS_URL`: `redis://[:password@]host:port[/db]`, `rediss://…` (TLS), or
 * `redis-sentinel://[:password@]host:26379,host:26379/<master name>[/db]`.
 * Unset: single-node mode (undefined).
 */
export function readCluster(read: EnvReader, databaseIsShared: boolean, nodeId: string): ClusterConfig | undefined {
  const raw = read.optionalString('REDIS_URL');
  const prefix = read.string('GATEWAY_REDIS_PREFIX', 'gateway:');
  if (raw === undefined) return undefined;
  if (!/^[\w:.{}-]{1,64}$/.test(prefix)) {
    read.problems.push('GATEWAY_REDIS_PREFIX: expected 1 to 64 letters, digits or _ : . - { }');
  }
  if (!databaseIsShared) {
    read.problems.push(
      'REDIS_URL is set (cluster mode) but DATABASE_URL is not: every node needs the same MySQL database; ' +
        'the embedded SQLite file (GATEWAY_SQLITE_PATH) belongs to one process',
    );
  }
  const redis = raw.startsWith('redis-sentinel:') ? parseSentinel(raw) : parseUrl(raw);
  if (redis === undefined) {
    read.problems.push(
      'REDIS_URL: expected redis://[:password@]host:port[/db], rediss://… or ' +
        'redis-sentinel://[:password@]host:26379,host:26379/<master name>[/db]',
    );
    return undefined;
  }
  return { redis, prefix, nodeId };
}

function parseUrl(raw: string): RedisTarget | undefined {
  try {
    const url = new URL(raw);
    if (!['redis:', 'rediss:'].includes(url.protocol) || !url.hostname) return undefined;
    if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) return undefined;
    return { kind: 'url', url: raw };
  } catch {
    return undefined;
  }
}

function parseSentinel(raw: string): RedisTarget | undefined {
  const match = SENTINEL.exec(raw);
  if (match === null) return undefined;
  const [, password, hosts, name, db] = match;
  const sentinels: { host: string; port: number }[] = [];
  for (const item of hosts.split(',')) {
    const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(item.trim());
    if (hostPort === null) return undefined;
    const port = hostPort[2] === undefined ? 26379 : Number(hostPort[2]);
    if (port < 1 || port > 65535) return undefined;
    sentinels.push({ host: hostPort[1].replace(/^\[|\]$/g, ''), port });
  }
  return {
    kind: 'sentinel',
    sentinels,
    name: decodeURIComponent(name),
    password: password === undefined || password === '' ? undefined : decodeURIComponent(password),
    db: db === undefined ? 0 : Number(db),
  };
}

/** `GATEWAY_NODE_ID` (default hostname-pid): names the node in logs, `/api/health` and metrics. */
export function readNodeId(read: EnvReader): string {
  const nodeId = read.string('GATEWAY_NODE_ID', defaultNodeId());
  if (!/^[\w.:@-]{1,100}$/.test(nodeId)) {
    read.problems.push('GATEWAY_NODE_ID: expected 1 to 100 letters, digits or _ . : @ -');
  }
  return nodeId;
}

/** `GATEWAY_NODE_ID`'s default: the host name and the process id. */
export function defaultNodeId(): string {
  return `${hostname()}-${process.pid}`;
}

/** The target without its password, for logs and `/api/health`. */
export function describeRedis(target: RedisTarget): string {
  if (target.kind === 'sentinel') {
    return `sentinel ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} master ${target.name}`;
  }
  const url = new URL(target.url);
  if (url.password) url.password = '***';
  return url.toString();
}

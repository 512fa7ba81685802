import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import Redis from 'ioredis';
import { eventually } from './eventually';

/**
 * Private Redis processes for suites that must kill and restart Redis (cluster mode's outage test)
 * or run Redis Sentinel: a `redis-server` of their own on a free port, in memory only, never the
 * shared one of `TEST_REDIS_URL`.
 */

/** How long a starting `redis-server` may take to answer PING. */
const START_TIMEOUT_MS = 10_000;

/** Debian's `/usr/bin/redis-server` (`.ci/run` installs it), else the first on PATH; undefined when absent. */
export function redisServerPath(): string | undefined {
  const candidates = [
    '/usr/bin/redis-server',
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server')),
  ];
  return candidates.find((candidate) => candidate !== '' && existsSync(candidate));
}

/** A TCP port nobody listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One command to a Redis (or Sentinel) on 127.0.0.1, on a connection of its own; rejects when nothing answers. */
export async function redisCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 500,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** Whether something on the port answers PING with PONG. */
export async function answersPing(port: number): Promise<boolean> {
  try {
    return (await redisCommand(port, 'PING')) === 'PONG';
  } catch {
    return false;
  }
}

/** A `redis-server` process the test owns: stop it, kill it, start it again on the same port. */
export interface PrivateRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Whether the process runs now. */
  readonly running: boolean;
  /** Starts it again (same port, empty: nothing is saved) and resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL, as a crash: clients see their connections reset. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. Resolves once the process is gone; removes its directory. */
  stop(): Promise<void>;
  /** What the process printed (its log goes to stdout). */
  output(): string;
}

/** A server process with its output kept, and a way to wait for its end. */
interface Managed {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function launch(binary: string, args: readonly string[], log: { text: string }): Managed {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (log.text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log.text += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      log.text += `\n${error.message}`;
      resolve();
    });
  });
  return { child, exited };
}

async function end(managed: Managed | undefined, signal: NodeJS.Signals): Promise<void> {
  if (managed === undefined || managed.child.exitCode !== null || managed.child.signalCode !== null) return;
  managed.child.kill(signal);
  const forced = setTimeout(() => managed.child.kill('SIGKILL'), 5000);
  await managed.exited;
  clearTimeout(forced);
}

async function waitForPing(port: number, managed: Managed, log: { text: string }, what: string): Promise<void> {
  let gone = false;
  void managed.exited.then(() => (gone = true));
  await eventually(
    async () => {
      if (gone) throw new Error(`${what} exited:\n${log.text}`);
      if (!(await answersPing(port))) throw new Error(`${what} on port ${port} does not answer PING yet`);
    },
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 50, what: `${what} answers PING` },
  );
}

/**
 * Starts a private `redis-server` on a free port: no RDB snapshots, no AOF, so a restart comes
 * back empty, as after a crash of a cache.
 *
 * @example
 * const redis = await startRedisServer();
 * await redis.kill(); // the outage
 * await redis.start(); // back on the same port
 * await redis.stop();
 */
export async function startRedisServer(): Promise<PrivateRedis> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error('redis-server not found (install Debian’s redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-private-'));
  const log = { text: '' };
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  let managed: Managed | undefined;
  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return managed !== undefined && managed.child.exitCode === null && managed.child.signalCode === null;
    },
    async start() {
      if (redis.running) throw new Error(`redis-server on port ${port} is already running`);
      managed = launch(binary, args, log);
      await waitForPing(port, managed, log, 'redis-server');
    },
    kill: () => end(managed, 'SIGKILL'),
    async stop() {
      await end(managed, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log.text,
  };
  try {
    await redis.start();
  } catch (error) {
    await redis.stop();
    throw error;
  }
  return redis;
}

/** A Redis Sentinel process monitoring one master. */
export interface PrivateSentinel {
  readonly port: number;
  /** The master's name as this sentinel knows it. */
  readonly masterName: string;
  /** `redis-sentinel://127.0.0.1:<port>/<masterName>`: the gateway's `REDIS_URL` through this sentinel. */
  readonly url: string;
  stop(): Promise<void>;
  output(): string;
}

/**
 * Starts Redis Sentinel (`redis-server <conf> --sentinel`, what Debian's `redis-sentinel` runs)
 * with a configuration in a temporary directory (Sentinel rewrites it) monitoring `master`, quorum
 * 1. Resolves once the sentinel answers with the master's address.
 *
 * @example
 * const sentinel = await startSentinel(redis, 'gateway-master');
 * startGateway({ REDIS_URL: sentinel.url, ... });
 */
export async function startSentinel(master: PrivateRedis, masterName = 'gateway-master'): Promise<PrivateSentinel> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error('redis-server not found (install Debian’s redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      `sentinel failover-timeout ${masterName} 60000`,
      '',
    ].join('\n'),
  );
  const log = { text: '' };
  const managed = launch(binary, [conf, '--sentinel'], log);
  const sentinel: PrivateSentinel = {
    port,
    masterName,
    url: `redis-sentinel://127.0.0.1:${port}/${masterName}`,
    async stop() {
      await end(managed, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log.text,
  };
  try {
    await waitForPing(port, managed, log, 'redis sentinel');
    await eventually(
      async () => {
        const address = await redisCommand(port, 'SENTINEL', 'get-master-addr-by-name', masterName);
        const expected = JSON.stringify(['127.0.0.1', String(master.port)]);
        if (JSON.stringify(address) !== expected) throw new Error(`the sentinel answers ${JSON.stringify(address)}`);
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 50, what: `the sentinel knows master ${masterName}` },
    );
  } catch (error) {
    await sentinel.stop();
    throw error;
  }
  return sentinel;
}

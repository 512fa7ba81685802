/** One benchmark run's children and its SIGINT state; the environment children get. */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_NODE_FLAGS,
  type ServerChild,
  allocatedBytes,
  cpuTimeMs,
  startServer,
  stopServer,
  systemCpuMs,
} from './children';
import { type ScenarioRow, runLoad, stopLoad } from './scenarios';

/** A child's environment: ours, minus anything that would point the gateway elsewhere. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GATEWAY_') && !['DATABASE_URL', 'NODE_OPTIONS', 'PORT', 'HOST'].includes(name))
      env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * The environment of a gateway child as the benches run it: a free port on loopback, warn-level
 * JSON logs (the info lines would cost the hot path), the given first admin, and `extra` on top
 * (the database, limits, tokens).
 */
export function gatewayEnv(
  admin: { readonly adminUsername: string; readonly adminPassword: string },
  extra: Record<string, string>,
): NodeJS.ProcessEnv {
  return childEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    GATEWAY_ADMIN_USERNAME: admin.adminUsername,
    GATEWAY_ADMIN_PASSWORD: admin.adminPassword,
    ...extra,
  });
}

const cpuUsageMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

/** The children of one run, and whether SIGINT asked it to stop (no new step starts then). */
export class Session {
  aborted = false;
  gateway?: ServerChild;
  bare?: ServerChild;
  /** The tight bare Fastify baseline (schema, key, pre-serialised answer: see bare-fastify.ts). */
  tight?: ServerChild;
  /** Cluster mode: the gateway nodes (stopped with the rest). */
  nodes: ServerChild[] = [];
  /** Cluster mode: redis-server's pid, when it runs here; its CPU is measured apart on every load. */
  redisPid?: number;

  check(): void {
    if (this.aborted) throw new Error('interrupted');
  }

  async start(role: 'gateway' | 'bare' | 'tight', options: Parameters<typeof startServer>[0]): Promise<ServerChild> {
    this.check();
    const child = await startServer(options);
    this[role] = child;
    this.check();
    return child;
  }

  /**
   * One autocannon run, with the CPU time the server child `pid` used meanwhile (several pids:
   * their sum, e.g. every node of a cluster), and redis-server's apart when {@link redisPid} is set.
   * When `pid` is one child of this session started with the allocation probe, its heap bytes
   * allocated per response too: the probe is asked before the CPU is first read and after it is
   * last read, so its own work stays out of the CPU figures.
   */
  async load(pid: number | readonly number[], ...args: Parameters<typeof runLoad>): Promise<ScenarioRow> {
    this.check();
    const pids = typeof pid === 'number' ? [pid] : pid;
    const probed = this.probed(pids);
    const heapBefore = probed ? await allocatedBytes(probed) : undefined;
    this.check();
    const serverCpu = (): number | undefined => {
      const times = pids.map(cpuTimeMs);
      return times.some((ms) => ms === undefined) ? undefined : times.reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
    };
    const redisCpu = (): number | undefined => (this.redisPid === undefined ? undefined : cpuTimeMs(this.redisPid));
    const loadAvg1m = Math.round(loadavg()[0] * 100) / 100;
    const before = { server: serverCpu(), redis: redisCpu(), system: systemCpuMs(), loader: process.cpuUsage() };
    const row = await runLoad(...args);
    const server = serverCpu();
    const redis = redisCpu();
    const system = systemCpuMs();
    const loaderMs = cpuUsageMs(process.cpuUsage(before.loader));
    this.check();
    const heapAfter = probed ? await allocatedBytes(probed) : undefined;
    const heap =
      heapBefore === undefined || heapAfter === undefined || row.total === 0
        ? {}
        : { heapBytesPerReq: Math.round((heapAfter - heapBefore) / row.total) };
    if (before.server === undefined || server === undefined || row.total === 0) return { ...row, ...heap, loadAvg1m };
    const serverMs = server - before.server;
    const redisMs = redis !== undefined && before.redis !== undefined ? redis - before.redis : undefined;
    const pct = (ms: number): number => Math.round((ms / (row.durationS * 1000)) * 100);
    const otherMs = system && before.system ? system.busy - before.system.busy : undefined;
    const stealMs = system && before.system ? system.steal - before.system.steal : undefined;
    return {
      ...row,
      serverCpuPct: pct(serverMs),
      serverCpuUsPerReq: Math.round((serverMs * 1000) / row.total),
      loaderCpuPct: pct(loaderMs),
      otherCpuPct: otherMs === undefined ? undefined : Math.max(0, pct(otherMs - serverMs - loaderMs - (redisMs ?? 0))),
      stealCpuPct: stealMs === undefined ? undefined : pct(stealMs),
      ...heap,
      loadAvg1m,
      ...(redisMs === undefined
        ? {}
        : { redisCpuPct: pct(redisMs), redisCpuUsPerReq: Math.round((redisMs * 1000) / row.total) }),
    };
  }

  /** The one child of this session whose pid is `pids` alone, if it preloads the allocation probe. */
  private probed(pids: readonly number[]): ServerChild | undefined {
    if (pids.length !== 1) return undefined;
    const child = [this.gateway, this.bare, this.tight].find((c) => c?.pid === pids[0]);
    return child?.allocProbe ? child : undefined;
  }

  /** The baseline servers (both, when the tight one runs) must not compete with the gateway for the CPU. */
  async stopBare(): Promise<void> {
    await Promise.all([stopServer(this.bare), stopServer(this.tight)]);
    this.bare = undefined;
    this.tight = undefined;
  }

  /** The single-node gateway must not compete with the cluster's nodes either. */
  async stopGateway(): Promise<void> {
    await stopServer(this.gateway);
    this.gateway = undefined;
  }

  /** Idempotent: stops the load and every child. */
  async stop(): Promise<void> {
    stopLoad();
    await Promise.all([
      stopServer(this.bare),
      stopServer(this.tight),
      stopServer(this.gateway),
      ...this.nodes.map((node) => stopServer(node)),
    ]);
  }
}

/** How {@link startBareBaseline} starts its child. */
export interface BareBaselineOptions {
  /**
   * The tight baseline (bare-fastify.ts with BENCH_BASELINE=tight): body schema, `api-key` checked
   * against `apiKey`, the answer serialised once. It is the session's `tight` child, not `bare`.
   */
  readonly tight?: boolean;
  /** The transpiled allocation probe to preload (children.ts `writeAllocProbe`). */
  readonly allocProbe?: string;
}

/**
 * A bare Fastify baseline as a child process, answering `response` to the select `request` body
 * (the current one, or with `tight` the tighter floor: see bare-fastify.ts).
 */
export async function startBareBaseline(
  session: Session,
  sample: { readonly request: string; readonly response: string },
  apiKey: string,
  options: BareBaselineOptions = {},
): Promise<{
  url: string;
  pid: number;
  request: { method: 'POST'; path: string; headers: Record<string, string>; body: string };
}> {
  const child = await session.start(options.tight ? 'tight' : 'bare', {
    name: options.tight ? 'bare-fastify (tight)' : 'bare-fastify',
    args: [...BENCH_NODE_FLAGS, '-r', 'ts-node/register/transpile-only', join(__dirname, 'bare-fastify.ts')],
    env: childEnv({
      BENCH_RESPONSE_JSON: sample.response,
      ...(options.tight ? { BENCH_BASELINE: 'tight', BENCH_API_KEY: apiKey } : {}),
    }),
    allocProbe: options.allocProbe,
  });
  const request = {
    method: 'POST' as const,
    path: '/select',
    headers: { 'content-type': 'application/json', 'api-key': apiKey },
    body: sample.request,
  };
  return { url: child.url, pid: child.pid, request };
}

/**
 * What a bench does once its run ends, however it ends: stops the load and the children, removes
 * the temporary directory and the SIGINT handler, and names the CPU profiles written (`--cpu-prof`).
 */
export async function endRun(
  bench: string,
  session: Session,
  tmp: string,
  onSigint: () => void,
  cpuProfDir?: string,
): Promise<void> {
  await session.stop();
  rmSync(tmp, { recursive: true, force: true });
  process.off('SIGINT', onSigint);
  if (cpuProfDir && existsSync(cpuProfDir)) {
    const profiles = readdirSync(cpuProfDir).filter((file) => file.endsWith('.cpuprofile'));
    process.stderr.write(`[${bench}] CPU profiles in ${cpuProfDir}: ${profiles.join(', ') || 'none'}\n`);
  }
}

/** The exit code of a run that threw: 130 after ^C, else `code`, with the error on stderr. */
export function failedRun(bench: string, session: Session, error: unknown, code: number): number {
  if (session.aborted) return 130;
  process.stderr.write(`${bench} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return code;
}

/**
 * npm run bench:failover [-- --scenario NAME[,NAME…]] [-- --quick] [-- --nodes N]
 *
 * Starts the gateway (`node dist/main.js`, or src through ts-node with `--from-src`) on SQLite in a
 * temporary folder, then plays each scenario (bench/failover/scenarios/) against it and against
 * the baselines, and writes bench/results/failover.md and failover.json (failover-quick.* in
 * quick mode), and their pictures failover-failed-attempts.svg and failover-shares.svg (charts.ts).
 *
 * `--nodes N` (N ≥ 2): N gateway nodes in cluster mode instead, on a fresh MySQL/MariaDB database
 * and a fresh Redis prefix (BENCH_MYSQL_URL, BENCH_REDIS_URL: bench/cluster/cluster.ts); the
 * gateway client spreads its calls over them (gateway-policy.ts). Writes failover-N-nodes.*.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterBacking, prepareBacking, startNodes } from '../cluster/cluster';
import { type ServerChild, startServer, stopServer } from '../http/children';
import { call } from '../http/seed';
import { childEnv } from '../http/session';
import { writeCharts } from './charts';
import { runScenario } from './driver';
import { type ScenarioFigures, scenarioFigures } from './metrics';
import { type FailoverReport, writeReport } from './report';
import { SCENARIOS } from './scenarios';

const ROOT = join(__dirname, '..', '..');
/**
 * Quick mode (the check in `npm test`) plays a scenario again, QUICK_REPLAYS times at most in a run,
 * when the machine stalled (another process took both cores): a call waited more than STALL_MS
 * for its first attempt — the calls due meanwhile left together, before any report of theirs was
 * in, a burst the scenario does not describe — or an attempt timed out on a backend scripted to
 * answer fast. The full bench reports what it got.
 */
const STALL_MS = 400;
const QUICK_REPLAYS = 3;
const ADMIN = { username: 'failover-admin', password: 'failover-bench-password' };

export interface BenchOptions {
  readonly quick: boolean;
  /** Only these scenarios (default: all of the mode's). */
  readonly scenarios?: readonly string[];
  /** Run `src/main.ts` through ts-node instead of `dist/main.js` (no build needed). */
  readonly fromSource?: boolean;
  /** Gateway nodes (default 1: SQLite, no Redis; 2 or more: cluster mode on MySQL and Redis). */
  readonly nodes?: number;
  /** Write bench/results/failover*.{md,json} (default true). */
  readonly write?: boolean;
  readonly log?: (message: string) => void;
}

function selected(options: BenchOptions): typeof SCENARIOS {
  const pool = SCENARIOS.filter((s) => !options.quick || s.quick);
  if (!options.scenarios?.length) return pool;
  const unknown = options.scenarios.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return SCENARIOS.filter((s) => options.scenarios?.includes(s.name));
}

function gatewayArgs(options: BenchOptions): string[] {
  const dist = join(ROOT, 'dist', 'main.js');
  if (!options.fromSource && !existsSync(dist)) throw new Error(`${dist} not found: run \`npm run build\` first`);
  return options.fromSource ? ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'main.ts')] : [dist];
}

/** Every node's environment; a single node adds its SQLite file. */
function gatewayEnv(keys: readonly string[]): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    GATEWAY_THROTTLE_PER_MINUTE: '0',
    GATEWAY_ADMIN_USERNAME: ADMIN.username,
    GATEWAY_ADMIN_PASSWORD: ADMIN.password,
    GATEWAY_BOOTSTRAP_API_KEYS: keys.join(','),
  };
}

async function startGateway(options: BenchOptions, tmp: string, keys: readonly string[]): Promise<ServerChild> {
  return startServer({
    name: 'gateway',
    args: gatewayArgs(options),
    env: childEnv({ ...gatewayEnv(keys), GATEWAY_SQLITE_PATH: join(tmp, 'gateway.sqlite') }),
    readyPath: '/api/health/ready',
    timeoutMs: 60_000,
  });
}

/** Runs the benchmark; always stops the gateway child and the mock backends, even on failure. */
export async function runFailoverBench(options: BenchOptions): Promise<FailoverReport> {
  const log = options.log ?? ((message: string) => void process.stderr.write(`[failover] ${message}\n`));
  const entries = selected(options);
  const mode = options.quick ? 'quick' : 'full';
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const tmp = mkdtempSync(join(tmpdir(), 'failover-bench-'));
  let replaysLeft = options.quick ? QUICK_REPLAYS : 0;
  const plays = entries.length + replaysLeft;
  const keys = Array.from({ length: plays }, (_, i) => `failover-${i}-${randomBytes(12).toString('hex')}`);
  let nextKey = 0;
  const nodeCount = options.nodes ?? 1;
  if (!Number.isInteger(nodeCount) || nodeCount < 1) throw new Error(`--nodes needs a positive integer`);
  const source = options.fromSource ? 'src/main.ts via ts-node' : 'dist/main.js';
  let nodes: ServerChild[] = [];
  let backing: ClusterBacking | undefined;
  try {
    if (nodeCount === 1) {
      log(`starting the gateway (${source})`);
      nodes = [await startGateway(options, tmp, keys)];
    } else {
      backing = await prepareBacking('failover');
      log(
        `starting ${nodeCount} gateway nodes (${source}) on database ${new URL(backing.databaseUrl).pathname.slice(1)}, ` +
          `Redis ${backing.redisUrl} prefix ${backing.prefix}`,
      );
      nodes = await startNodes(nodeCount, { backing, args: gatewayArgs(options), env: gatewayEnv(keys), log });
    }
    const [gateway, ...others] = nodes;
    const login = await call<{ accessToken: string }>(gateway.url, '/api/admin/auth/login', ADMIN);
    const scenarios = [];
    for (const entry of entries) {
      const scenario = entry.build(mode);
      log(`${scenario.name}: ${scenario.description} (${scenario.durationS} s)`);
      let figures: ScenarioFigures | undefined;
      while (figures === undefined) {
        const run = await runScenario(scenario, {
          url: gateway.url,
          ...(others.length > 0 ? { otherUrls: others.map((node) => node.url) } : {}),
          // Every play (a replay too) binds an unused key: its own project, its instances afresh.
          key: keys[nextKey++],
          adminToken: login.data.accessToken,
        });
        const candidate = scenarioFigures(run);
        const stalled = candidate.gatewayStartDelayMaxMs > STALL_MS || candidate.stallTimeouts > 0;
        if (!stalled || replaysLeft === 0) figures = candidate;
        else {
          replaysLeft--;
          log(
            `${scenario.name}: the machine stalled (a call waited ${candidate.gatewayStartDelayMaxMs} ms for its ` +
              `first attempt; ${candidate.stallTimeouts} attempts timed out on backends scripted to answer fast; ` +
              `gateway ${candidate.policies.gateway.failedAttempts} failed attempts): played again`,
          );
        }
      }
      const g = figures.policies.gateway;
      log(
        `${scenario.name}: gateway ${g.finalSuccess} % ok, ${g.failedAttempts} failed attempts, ${g.ejections} trips`,
      );
      scenarios.push(figures);
    }
    const report: FailoverReport = {
      mode,
      startedAt,
      wallS: Math.round((performance.now() - started) / 100) / 10,
      node: process.version,
      ...(nodeCount > 1 ? { nodes: nodeCount } : {}),
      scenarios,
    };
    if (options.write !== false) {
      const files = writeReport(report, join(ROOT, 'bench', 'results'));
      log(`wrote ${files.md} and ${files.json}`);
      // Beside the JSON; `npm run bench:failover:charts` redraws them from it without a rerun.
      log(`wrote ${(await writeCharts(report, files.json, log)).join(' and ')}`);
    }
    return report;
  } finally {
    await Promise.all(nodes.map((node) => stopServer(node)));
    await backing?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): BenchOptions {
  const scenarios: string[] = [];
  let quick = false;
  let fromSource = false;
  let nodes = 1;
  const count = (value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--nodes takes a positive integer, not ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--from-src') fromSource = true;
    else if (arg === '--nodes') nodes = count(argv[++i]);
    else if (arg.startsWith('--nodes=')) nodes = count(arg.slice('--nodes='.length));
    else if (arg === '--scenario') scenarios.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (arg.startsWith('--scenario=')) scenarios.push(...arg.slice('--scenario='.length).split(','));
    else throw new Error(`unknown argument ${arg}: use --scenario NAME, --quick, --from-src, --nodes N`);
  }
  return { quick, fromSource, scenarios, nodes };
}

if (require.main === module) {
  runFailoverBench(parseArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`[failover] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

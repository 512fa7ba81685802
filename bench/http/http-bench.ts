/**
 * HTTP benchmark of the gateway's hot path, over real HTTP against the compiled gateway.
 *
 *   npm run build && node -r ts-node/register/transpile-only bench/http/http-bench.ts \
 *     [--duration 10] [--connections 50] [--warmup 5] [--rounds 3] [--light-connections 5] \
 *     [--only baseline,select,report,mix] \
 *     [--cpu-prof <dir>] [--cluster [--nodes 2] | --cluster-only [--nodes 2]]
 *
 * 1. Starts `node dist/main.js` as a child (free port, SQLite in a temp dir, LOG_LEVEL=warn,
 *    default throttling, the allocation probe preloaded), seeds it over HTTP (admin login, 3
 *    projects with a key each, 50 instances per project), takes one real select-instance response,
 *    then warms it up with --warmup seconds of each request kind (a few hundred requests leave the
 *    JIT cold: the first seconds run at a third of the steady rate).
 * 2. Two baselines, each a bare Fastify 5 child (bare-fastify.ts) answering a body of the same
 *    size as that response, at the same connections, warm-up and duration, started before and
 *    stopped after all the rounds (an idle child uses no CPU):
 *    - the current baseline: parses the body, serialises a precomputed object per request;
 *    - the tight baseline (BENCH_BASELINE=tight): validates the body against a JSON schema with
 *      select-instance's required fields, checks the `api-key` header (401 otherwise) and sends the
 *      answer serialised once: the least a real server must do for the same exchange.
 * 3. Scenarios against the gateway: select only, report only (~5 % failures, no selectionId),
 *    and select-then-report with the selectionId, all spread over the 3 keys.
 * Steps 2 and 3 run --rounds times, interleaved (baseline, tight baseline, select, report, mix,
 * baseline, …): this machine's speed drifts by tens of percent within minutes, so the table gives
 * the median of each figure over the rounds, and the throughput ratios are the median of each
 * round's ratio to that round's own baseline (× baseline) and tight baseline (× tight), printed
 * per round too.
 * 4. Once more at --light-connections (default 5; both baselines first): the p99 of a request that
 *    queues behind 4 others instead of 49, which is what a latency target can be met at (ADR 0004).
 * The gateway and both baselines run with the gateway's V8 flags (`npm start`'s; ADR 0013), or
 * none with BENCH_NO_NODE_FLAGS=1; the results name them.
 * Every single-node row also gets the V8 heap bytes its server allocated per response ("heap
 * KB/req"): the gateway and both baselines preload alloc-probe.ts (`-r`, transpiled to .js in the
 * temporary directory), which the bench asks for its running total before and after each load.
 * Verdict (issue #17's targets, ADR 0004; see TARGETS in report.ts): select, report and mix
 * ≥ 0.75× the current baseline (paired per round); their p99 ≤ 5 ms at --light-connections and
 * ≤ 2× the baseline's own p99 at --connections; ≤ 20 KB heap allocated per select; zero non-2xx,
 * errors and timeouts on every row. The × tight ratios are reported, not judged.
 * Prints a table with PASS/FAIL against the targets and writes bench/results/http.{json,md}
 * (full runs only: not with --only or --cpu-prof). Exits 0 whatever the figures (it reports, it
 * does not gate); 1 when the run breaks, 2 on bad flags, 130 on SIGINT. --cpu-prof runs the
 * gateway under `node --cpu-prof` and leaves the .cpuprofile in <dir> (see cpuprofile-summary.ts).
 * 5. With --cluster, after all of the above (which it leaves as it is): the same scenarios on
 *    --nodes (2) gateway nodes on one fresh MySQL/MariaDB database and one Redis, the load spread
 *    over the nodes, against a bare Fastify baseline and node a alone in the same rounds
 *    (cluster-phase.ts; BENCH_MYSQL_URL and BENCH_REDIS_URL say where, see bench/cluster/cluster.ts).
 *    Writes bench/results/http-cluster.{json,md} on full runs. --cluster-only skips steps 1–4.
 *    The cluster part keeps its own target (cluster-phase.ts), the current baseline only, and no
 *    heap figures.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_NODE_FLAGS, rssMb, writeAllocProbe } from './children';
import { clusterConsoleTable, clusterPhase, writeClusterResults } from './cluster-phase';
import {
  BASELINE_NAME,
  type BenchReport,
  TIGHT_LIGHT,
  TIGHT_NAME,
  checks,
  consoleTable,
  lightName,
  machine,
  medianRow,
  ratiosOf,
  sourceVersion,
  writeResults,
} from './report';
import { type LoadOptions, type ScenarioRow, mixRequests, reportRequests, selectRequests } from './scenarios';
import { sampleSelect, seed } from './seed';
import { Session, endRun, failedRun, gatewayEnv, startBareBaseline } from './session';

const ROOT = resolve(__dirname, '..', '..');
const ADMIN = { adminUsername: 'admin', adminPassword: 'bench-admin-password' };
/**
 * Leases of 2 s: a select-only load never reports, and at the default 60 s its leases would reach
 * a project's cap (GATEWAY_MAX_OPEN_LEASES_PER_PROJECT, 50,000) within seconds at today's rates
 * and be answered 429. With 2 s the select scenario runs in the steady state an unreporting
 * client would have: each select opens one lease and, once the first 2 s have passed, expires one.
 */
const FIXTURE = { projects: 3, identifiers: 5, instancesPerIdentifier: 10, leaseTtlMs: 2000 };
const SCENARIOS = ['baseline', 'select', 'report', 'mix'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  readonly duration: number;
  readonly connections: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly lightConnections: number;
  readonly only: readonly Scenario[];
  readonly cpuProfDir?: string;
  /** Run the single-node part (not with --cluster-only). */
  readonly single: boolean;
  /** Gateway nodes of the cluster part; 0: no cluster part. */
  readonly clusterNodes: number;
}

function parseArgs(argv: readonly string[]): Options {
  const raw = (flag: string): string | undefined => {
    const at = argv.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (at < 0) return undefined;
    return argv[at].includes('=') ? argv[at].slice(flag.length + 1) : argv[at + 1];
  };
  const int = (flag: string, fallback: number): number => {
    const value = Number(raw(flag) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} needs a positive integer`);
    return value;
  };
  const only = (raw('--only') ?? SCENARIOS.join(',')).split(',').map((name) => name.trim());
  const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`--only takes ${SCENARIOS.join(',')}; not ${unknown.join(',')}`);
  const cpuProf = raw('--cpu-prof');
  const clusterOnly = argv.includes('--cluster-only');
  const cluster = clusterOnly || argv.includes('--cluster');
  if (!cluster && raw('--nodes') !== undefined) throw new UsageError('--nodes goes with --cluster or --cluster-only');
  const nodes = int('--nodes', 2);
  if (cluster && nodes < 2) throw new UsageError('--nodes needs 2 or more');
  return {
    duration: int('--duration', 10),
    connections: int('--connections', 50),
    warmup: int('--warmup', 5),
    rounds: int('--rounds', 3),
    lightConnections: int('--light-connections', 5),
    only: only as Scenario[],
    cpuProfDir: cpuProf === undefined ? undefined : resolve(cpuProf),
    single: !clusterOnly,
    clusterNodes: cluster ? nodes : 0,
  };
}

class UsageError extends Error {}

const log = (message: string): void => void process.stderr.write(`[http-bench] ${message}\n`);

async function main(options: Options, session: Session, tmp: string): Promise<void> {
  const dist = join(ROOT, 'dist', 'main.js');
  if (!existsSync(dist)) throw new Error(`${dist} not found: run \`npm run build\` first`);
  const single = options.single ? await singleNode(options, session, tmp, dist) : undefined;
  if (options.clusterNodes === 0) return;
  if (single) await session.stopGateway();
  const cluster = await clusterPhase(
    {
      nodes: options.clusterNodes,
      duration: options.duration,
      connections: options.connections,
      warmup: options.warmup,
      rounds: options.rounds,
      only: options.only,
      cpuProfDir: options.cpuProfDir,
      dist,
      admin: ADMIN,
      fixture: FIXTURE,
      log,
    },
    session,
    single,
  );
  process.stdout.write(`\n${clusterConsoleTable(cluster)}\n`);
  if (options.only.length === SCENARIOS.length && !options.cpuProfDir) {
    writeClusterResults(
      cluster,
      join(ROOT, 'bench/results/http-cluster.json'),
      join(ROOT, 'bench/results/http-cluster.md'),
    );
    log('wrote bench/results/http-cluster.json and bench/results/http-cluster.md');
  }
}

/** Steps 1–4: one gateway on SQLite, as before cluster mode. */
async function singleNode(options: Options, session: Session, tmp: string, dist: string): Promise<BenchReport> {
  const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const allocProbe = writeAllocProbe(tmp);
  log(`starting the gateway${options.cpuProfDir ? ` under --cpu-prof (${options.cpuProfDir})` : ''}`);
  const gateway = await session.start('gateway', {
    name: 'gateway',
    args: [...BENCH_NODE_FLAGS, ...profile, dist],
    env: gatewayEnv(ADMIN, { GATEWAY_SQLITE_PATH: join(tmp, 'gateway.sqlite') }),
    readyPath: '/api/health/ready',
    allocProbe,
  });
  log(`gateway pid ${gateway.pid} at ${gateway.url} (address from ${gateway.foundBy}); seeding`);
  session.check();
  const fixture = await seed(gateway.url, { ...FIXTURE, ...ADMIN });
  const sample = await sampleSelect(gateway.url, fixture);
  const load: LoadOptions = {
    url: gateway.url,
    connections: options.connections,
    duration: options.duration,
  };
  // JIT: a few hundred requests leave the gateway at a third of its speed; seconds of load do not.
  const warm: LoadOptions = { ...load, duration: options.warmup };
  log(`warming up: ${options.warmup} s each of select, report and select+report`);
  const warmups = [
    await session.load(gateway.pid, 'warm-up select', selectRequests(fixture), { ...warm, rotate: true }),
    await session.load(gateway.pid, 'warm-up report', reportRequests(fixture), { ...warm, rotate: true }),
    await session.load(gateway.pid, 'warm-up mix', mixRequests(fixture, {}), warm),
  ];
  const rssMbAfterWarmup = rssMb(gateway.pid);

  const sizes: Record<string, number> = {
    selectRequestBody: Buffer.byteLength(sample.request),
    selectResponseBody: Buffer.byteLength(sample.response),
  };
  type Bare = { url: string; pid: number; request: Parameters<typeof session.load>[2][number] };
  let bare: Bare | undefined;
  let tight: Bare | undefined;
  if (options.only.includes('baseline')) {
    const key = fixture.tenants[0].key;
    const child = await startBareBaseline(session, sample, key, { allocProbe });
    const { request } = child;
    const answer = await fetch(`${child.url}/select`, request);
    sizes.baselineRequestBody = Buffer.byteLength(sample.request);
    sizes.baselineResponseBody = Buffer.byteLength(await answer.text());
    log(`baseline: bare Fastify pid ${child.pid} at ${child.url}`);
    warmups.push(await session.load(child.pid, 'warm-up baseline', [request], { ...warm, url: child.url }));
    bare = { url: child.url, pid: child.pid, request };

    const strict = await startBareBaseline(session, sample, key, { tight: true, allocProbe });
    const tightAnswer = await fetch(`${strict.url}/select`, strict.request);
    const tightText = await tightAnswer.text();
    if (tightAnswer.status !== 200) throw new Error(`tight baseline answered ${tightAnswer.status}: ${tightText}`);
    sizes.tightResponseBody = Buffer.byteLength(tightText);
    log(`tight baseline: bare Fastify (schema, key, pre-serialised) pid ${strict.pid} at ${strict.url}`);
    warmups.push(
      await session.load(strict.pid, 'warm-up tight baseline', [strict.request], { ...warm, url: strict.url }),
    );
    tight = { url: strict.url, pid: strict.pid, request: strict.request };
  }

  const rounds: ScenarioRow[][] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const rows: ScenarioRow[] = [];
    const step = `round ${round}/${options.rounds}`;
    if (bare) {
      log(`${step}: baseline`);
      rows.push(await session.load(bare.pid, BASELINE_NAME, [bare.request], { ...load, url: bare.url }));
    }
    if (tight) {
      log(`${step}: tight baseline`);
      rows.push(await session.load(tight.pid, TIGHT_NAME, [tight.request], { ...load, url: tight.url }));
    }
    if (options.only.includes('select')) {
      log(`${step}: select only`);
      rows.push(await session.load(gateway.pid, 'select', selectRequests(fixture), { ...load, rotate: true }));
    }
    if (options.only.includes('report')) {
      log(`${step}: report only`);
      rows.push(await session.load(gateway.pid, 'report', reportRequests(fixture), { ...load, rotate: true }));
    }
    if (options.only.includes('mix')) {
      log(`${step}: 50/50 select then report`);
      const notes: Record<string, number> = {};
      rows.push(await session.load(gateway.pid, 'mix', mixRequests(fixture, notes), load, notes));
    }
    rounds.push(rows);
  }
  const light: ScenarioRow[] = [];
  const few: LoadOptions = { ...load, connections: options.lightConnections };
  const name = (scenario: string): string => lightName(scenario, options.lightConnections);
  log(`light load: ${options.lightConnections} connections`);
  if (bare) light.push(await session.load(bare.pid, name('baseline'), [bare.request], { ...few, url: bare.url }));
  if (tight) light.push(await session.load(tight.pid, name(TIGHT_LIGHT), [tight.request], { ...few, url: tight.url }));
  if (options.only.includes('select')) {
    light.push(await session.load(gateway.pid, name('select'), selectRequests(fixture), { ...few, rotate: true }));
  }
  if (options.only.includes('report')) {
    light.push(await session.load(gateway.pid, name('report'), reportRequests(fixture), { ...few, rotate: true }));
  }
  if (options.only.includes('mix')) {
    const notes: Record<string, number> = {};
    light.push(await session.load(gateway.pid, name('mix'), mixRequests(fixture, notes), few, notes));
  }
  if (bare) await session.stopBare();
  const scenarioNames = rounds[0].map((row) => row.scenario);
  const medians = scenarioNames.map((name) =>
    medianRow(rounds.map((round) => round.find((row) => row.scenario === name)!)),
  );
  const baseline = medians.find((row) => row.scenario === BASELINE_NAME);
  const tightBaseline = medians.find((row) => row.scenario === TIGHT_NAME);
  const rows = medians.filter((row) => row !== baseline && row !== tightBaseline);
  const rssMbAtEnd = rssMb(gateway.pid);
  const judged = { baseline, tightBaseline, scenarios: rows, light, rounds };
  const verdict = checks(judged);
  const ratios = ratiosOf(judged);
  const report: BenchReport = {
    date: new Date().toISOString(),
    node: process.version,
    command:
      `node -r ts-node/register/transpile-only bench/http/http-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    source: sourceVersion(ROOT),
    config: {
      connections: options.connections,
      duration: options.duration,
      warmupSeconds: options.warmup,
      rounds: options.rounds,
      lightConnections: options.lightConnections,
      nodeFlags: BENCH_NODE_FLAGS,
    },
    sizes,
    gateway: {
      pid: gateway.pid,
      addressFoundBy: gateway.foundBy,
      rssMbAfterWarmup,
      rssMbAtEnd,
      // The allocation probe's answers are not the gateway's log.
      logLines: gateway
        .output()
        .split('\n')
        .filter((line) => line && !line.startsWith('[alloc-probe]')).length,
    },
    fixture: {
      projects: fixture.tenants.length,
      instancesPerProject: fixture.tenants[0].instances.length,
      identifiers: fixture.identifiers.length,
      leaseTtlMs: FIXTURE.leaseTtlMs,
    },
    baseline,
    tightBaseline,
    scenarios: rows,
    ratios,
    rounds,
    light,
    warmups,
    checks: verdict,
    pass: verdict.every((check) => check.pass),
  };
  process.stdout.write(`${consoleTable(report)}\n`);
  if (options.only.length === SCENARIOS.length && !options.cpuProfDir) {
    writeResults(report, join(ROOT, 'bench/results/http.json'), join(ROOT, 'bench/results/http.md'));
    log('wrote bench/results/http.json and bench/results/http.md');
  } else {
    log('partial or profiled run: bench/results not written');
  }
  return report;
}

async function run(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'gw-http-bench-'));
  const session = new Session();
  const onSigint = (): void => {
    if (session.aborted) process.exit(130); // a second ^C: leave now
    session.aborted = true;
    log('SIGINT: stopping the load and the children (^C again to leave at once)');
    void session.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    await main(options, session, tmp);
    return 0;
  } catch (error) {
    return failedRun('http-bench', session, error, 1);
  } finally {
    await endRun('http-bench', session, tmp, onSigint, options.cpuProfDir);
  }
}

void run().then((code) => process.exit(code));

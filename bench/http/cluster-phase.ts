/**
 * The cluster part of the HTTP benchmark (`http-bench.ts --cluster`): the same scenarios against
 * two gateway nodes (`node dist/main.js` each) on one fresh MySQL/MariaDB database and one Redis
 * (bench/cluster/cluster.ts), the load spread over both, against the bare Fastify baseline of the
 * same rounds and against one of the two nodes taking the whole load alone.
 *
 * 1. Creates the database and the Redis prefix, starts node a (migrations, bootstrap rows), then
 *    node b, and waits until each sees the other in `/api/health`.
 * 2. Seeds through node a only (3 projects × 50 instances over HTTP, as the single-node run does)
 *    and polls node b until it serves every seeded instance (`GET /api/instances/:id` from its
 *    in-memory index): the registration reached it through the cluster's events, not a restart.
 * 3. Warms both nodes up (--warmup s each of select, report and select → report over both), then
 *    the bare Fastify baseline (same response, same body).
 * 4. --rounds interleaved rounds of: baseline, select on both nodes, select on node a alone,
 *    report on both, report on node a alone, mix on both, mix on node a alone.
 *
 * How the load is spread: one autocannon, its --connections (50) opened alternately to node a and
 * node b (autocannon's array of urls: connection i → node i mod 2), each connection kept on its
 * node, as a load balancer keeps a keep-alive connection on one backend. One load generator, like
 * the single-node run: the same total concurrency and the same loader cost per request, no two
 * generators competing for the cores. Each connection of the mix sends its select and its report to
 * the same node (the failover bench sends them to different nodes).
 *
 * Server CPU in this part is the sum over both nodes (in the "node a alone" rows too: node b idles
 * there, with its heartbeats), and redis-server's is measured apart when it runs on this machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ClusterBacking, NODE_IDS, prepareBacking, startNodes, waitServed } from '../cluster/cluster';
import { BENCH_NODE_FLAGS, rssMb, stopServer } from './children';
import { type BenchReport, type Check, machine, medianRow, pairedRatio, sourceVersion } from './report';
import { type LoadOptions, type ScenarioRow, mixRequests, reportRequests, selectRequests } from './scenarios';
import { type Fixture, sampleSelect, seed } from './seed';
import { type Session, startBareBaseline } from './session';

/** The target for a cluster (issue #17): select and report ≥ 0.6× the bare Fastify baseline. */
export const CLUSTER_TARGET = 0.6;
const PROPAGATION_TIMEOUT_MS = 10_000;

export type ClusterScenario = 'baseline' | 'select' | 'report' | 'mix';

export interface ClusterOptions {
  readonly nodes: number;
  readonly duration: number;
  readonly connections: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly only: readonly ClusterScenario[];
  readonly cpuProfDir?: string;
  readonly dist: string;
  readonly admin: { readonly adminUsername: string; readonly adminPassword: string };
  readonly fixture: {
    readonly projects: number;
    readonly identifiers: number;
    readonly instancesPerIdentifier: number;
    readonly leaseTtlMs?: number;
  };
  readonly log: (message: string) => void;
}

export interface ClusterBenchReport {
  readonly date: string;
  readonly node: string;
  readonly command: string;
  readonly machine: { cpus: number; model: string };
  readonly source: string;
  readonly config: {
    readonly nodes: number;
    readonly connections: number;
    readonly duration: number;
    readonly warmupSeconds: number;
    readonly rounds: number;
    /** The MySQL server (no credentials) and Redis the nodes shared. */
    readonly mysqlServer: string;
    readonly redis: string;
    /** redis-server's CPU was measured (it runs on this machine). */
    readonly redisMeasured: boolean;
  };
  /** ms from the end of the seeding through node a until every other node served every seeded instance. */
  readonly propagationMs: number;
  readonly gatewayNodes: readonly {
    readonly nodeId: string;
    readonly pid: number;
    readonly rssMbAfterWarmup?: number;
    readonly rssMbAtEnd?: number;
    readonly logLines: number;
  }[];
  readonly fixture: { projects: number; instancesPerProject: number; identifiers: number; leaseTtlMs?: number };
  readonly baseline?: ScenarioRow;
  /** Medians over the rounds, in round order (baseline excluded). */
  readonly scenarios: readonly ScenarioRow[];
  readonly rounds: readonly (readonly ScenarioRow[])[];
  readonly warmups: readonly ScenarioRow[];
  /** Per scenario: the cluster's req/s ÷ node a alone's, median over the rounds. */
  readonly clusterOverOneNode: Record<string, number | undefined>;
  /** The single-node run (SQLite, no Redis) of the same invocation, when it ran: its paired ratios. */
  readonly singleNodeRun?: {
    readonly source: string;
    readonly ratios: Record<string, number | undefined>;
    readonly cpuUsPerReq: Record<string, number | undefined>;
  };
  readonly checks: readonly Check[];
  readonly pass: boolean;
}

/** The rows' names: `select, 2 nodes` and `select, node a alone`. */
export const clusterName = (scenario: string, nodes: number): string => `${scenario}, ${nodes} nodes`;
export const aloneName = (scenario: string): string => `${scenario}, node a alone`;

function medianOf(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median over the rounds of `numerator`'s req/s ÷ `denominator`'s in the same round. */
export function pairedBetween(
  rounds: readonly (readonly ScenarioRow[])[],
  numerator: string,
  denominator: string,
): number | undefined {
  const ratios: number[] = [];
  for (const round of rounds) {
    const top = round.find((row) => row.scenario === numerator);
    const bottom = round.find((row) => row.scenario === denominator);
    if (top && bottom && bottom.reqPerSec > 0) ratios.push(top.reqPerSec / bottom.reqPerSec);
  }
  const median = medianOf(ratios);
  return median === undefined ? undefined : Math.round(median * 100) / 100;
}

/** Cluster select and report ≥ 0.5× the baseline (paired per round); zero non-2xx, errors, timeouts everywhere. */
export function clusterChecks(report: Omit<ClusterBenchReport, 'checks' | 'pass'>): Check[] {
  const result: Check[] = [];
  for (const scenario of ['select', 'report']) {
    const name = clusterName(scenario, report.config.nodes);
    const r = pairedRatio(report.rounds, name);
    if (report.baseline && r !== undefined) {
      result.push({ name: `${name}: req/s ≥ ${CLUSTER_TARGET}× baseline`, value: `${r}×`, pass: r >= CLUSTER_TARGET });
    }
  }
  for (const row of report.scenarios) {
    result.push({
      name: `${row.scenario}: zero non-2xx, errors, timeouts`,
      value: `${row.non2xx} / ${row.errors} / ${row.timeouts}`,
      pass: row.non2xx === 0 && row.errors === 0 && row.timeouts === 0,
    });
  }
  return result;
}

async function waitPropagated(urls: readonly string[], fixture: Fixture): Promise<number> {
  let total = 0;
  for (const tenant of fixture.tenants) {
    const ids = tenant.instances.map((instance) => instance.id);
    total += await waitServed(urls, tenant.key, ids, PROPAGATION_TIMEOUT_MS - total);
  }
  return total;
}

/** Runs the cluster part; the nodes and the bare server are the session's (its stop() stops them). */
export async function clusterPhase(
  options: ClusterOptions,
  session: Session,
  singleNode?: BenchReport,
): Promise<ClusterBenchReport> {
  const { log } = options;
  session.check();
  const backing: ClusterBacking = await prepareBacking('http');
  try {
    session.redisPid = backing.redisPid;
    const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
    log(
      `cluster: database ${new URL(backing.databaseUrl).pathname.slice(1)}, Redis ${backing.redisUrl} ` +
        `prefix ${backing.prefix}${backing.redisPid ? ` (redis-server pid ${backing.redisPid})` : ''}; ` +
        `starting ${options.nodes} nodes`,
    );
    const nodes = await startNodes(options.nodes, {
      backing,
      args: [...BENCH_NODE_FLAGS, ...profile, options.dist],
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        GATEWAY_ADMIN_USERNAME: options.admin.adminUsername,
        GATEWAY_ADMIN_PASSWORD: options.admin.adminPassword,
      },
      log: (message) => log(`cluster: ${message}`),
    });
    session.nodes = nodes;
    session.check();
    const [first, ...others] = nodes;
    log(`cluster: seeding through node a`);
    const fixture = await seed(first.url, { ...options.fixture, ...options.admin });
    const propagationMs = await waitPropagated(
      others.map((node) => node.url),
      fixture,
    );
    log(`cluster: every other node served the seeded instances ${propagationMs} ms after the seeding`);
    const sample = await sampleSelect(first.url, fixture);
    const pids = nodes.map((node) => node.pid);
    const both: LoadOptions = {
      url: first.url,
      urls: nodes.map((node) => node.url),
      connections: options.connections,
      duration: options.duration,
    };
    const alone: LoadOptions = { url: first.url, connections: options.connections, duration: options.duration };
    const warm: LoadOptions = { ...both, duration: options.warmup };
    log(`cluster: warming up: ${options.warmup} s each of select, report and select+report over the nodes`);
    const warmups = [
      await session.load(pids, 'cluster warm-up select', selectRequests(fixture), { ...warm, rotate: true }),
      await session.load(pids, 'cluster warm-up report', reportRequests(fixture), { ...warm, rotate: true }),
      await session.load(pids, 'cluster warm-up mix', mixRequests(fixture, {}), warm),
    ];
    const rssAfterWarmup = nodes.map((node) => rssMb(node.pid));

    let bare: { url: string; pid: number; request: Parameters<typeof session.load>[2][number] } | undefined;
    if (options.only.includes('baseline')) {
      const child = await startBareBaseline(session, sample, fixture.tenants[0].key);
      const { request } = child;
      log(`cluster: baseline: bare Fastify pid ${child.pid} at ${child.url}`);
      const base: LoadOptions = { url: child.url, connections: options.connections, duration: options.warmup };
      warmups.push(await session.load(child.pid, 'cluster warm-up baseline', [request], base));
      bare = { url: child.url, pid: child.pid, request };
    }

    const rounds: ScenarioRow[][] = [];
    const scenarios = (['select', 'report', 'mix'] as const).filter((name) => options.only.includes(name));
    for (let round = 1; round <= options.rounds; round++) {
      const rows: ScenarioRow[] = [];
      const step = `cluster round ${round}/${options.rounds}`;
      if (bare) {
        log(`${step}: baseline`);
        const base: LoadOptions = { url: bare.url, connections: options.connections, duration: options.duration };
        rows.push(await session.load(bare.pid, 'baseline (bare Fastify)', [bare.request], base));
      }
      for (const scenario of scenarios) {
        for (const [name, load] of [
          [clusterName(scenario, nodes.length), both],
          [aloneName(scenario), alone],
        ] as const) {
          log(`${step}: ${name}`);
          if (scenario === 'mix') {
            const notes: Record<string, number> = {};
            rows.push(await session.load(pids, name, mixRequests(fixture, notes), load, notes));
          } else {
            const requests = scenario === 'select' ? selectRequests(fixture) : reportRequests(fixture);
            rows.push(await session.load(pids, name, requests, { ...load, rotate: true }));
          }
        }
      }
      rounds.push(rows);
    }
    if (bare) await session.stopBare();
    const names = rounds[0].map((row) => row.scenario);
    const medians = names.map((name) => medianRow(rounds.map((round) => round.find((row) => row.scenario === name)!)));
    const baseline = bare ? medians[0] : undefined;
    const rows = bare ? medians.slice(1) : medians;
    const clusterOverOneNode = Object.fromEntries(
      scenarios.map((scenario) => [
        scenario,
        pairedBetween(rounds, clusterName(scenario, nodes.length), aloneName(scenario)),
      ]),
    );
    const partial: Omit<ClusterBenchReport, 'checks' | 'pass'> = {
      date: new Date().toISOString(),
      node: process.version,
      command:
        `node -r ts-node/register/transpile-only bench/http/http-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
      machine: machine(),
      source: sourceVersion(join(__dirname, '..', '..')),
      config: {
        nodes: nodes.length,
        connections: options.connections,
        duration: options.duration,
        warmupSeconds: options.warmup,
        rounds: options.rounds,
        mysqlServer: new URL(backing.databaseUrl).host,
        redis: `${new URL(backing.redisUrl).host}, prefix ${backing.prefix}`,
        redisMeasured: backing.redisPid !== undefined,
      },
      propagationMs,
      gatewayNodes: nodes.map((node, i) => ({
        nodeId: NODE_IDS[i],
        pid: node.pid,
        rssMbAfterWarmup: rssAfterWarmup[i],
        rssMbAtEnd: rssMb(node.pid),
        logLines: node.output().split('\n').filter(Boolean).length,
      })),
      fixture: {
        projects: fixture.tenants.length,
        instancesPerProject: fixture.tenants[0].instances.length,
        identifiers: fixture.identifiers.length,
        leaseTtlMs: options.fixture.leaseTtlMs,
      },
      baseline,
      scenarios: rows,
      rounds,
      warmups,
      clusterOverOneNode,
      singleNodeRun: singleNode && {
        source: singleNode.source,
        ratios: Object.fromEntries(
          singleNode.scenarios.map((row) => [row.scenario, pairedRatio(singleNode.rounds, row.scenario)]),
        ),
        cpuUsPerReq: Object.fromEntries(
          [...(singleNode.baseline ? [singleNode.baseline] : []), ...singleNode.scenarios].map((row) => [
            row.scenario,
            row.serverCpuUsPerReq,
          ]),
        ),
      },
    };
    const checks = clusterChecks(partial);
    return { ...partial, checks, pass: checks.every((check) => check.pass) };
  } finally {
    await Promise.all(session.nodes.map((node) => stopServer(node)));
    session.nodes = [];
    session.redisPid = undefined;
    await backing.dispose();
  }
}

const HEADER = [
  'scenario',
  'req/s (mean)',
  'p50 ms',
  'p99 ms',
  'non-2xx',
  'errors/timeouts',
  '× baseline',
  'responses a / b',
  'gateway CPU µs/req (%)',
  'Redis CPU µs/req (%)',
  'loader CPU %',
  'other CPU %',
  'steal %',
];

function cells(row: ScenarioRow, report: ClusterBenchReport): string[] {
  const r = row === report.baseline ? 1 : pairedRatio(report.rounds, row.scenario);
  const perUrl = row.responsesPerUrl;
  return [
    row.scenario,
    String(row.reqPerSec),
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.non2xx),
    `${row.errors}/${row.timeouts}`,
    r === undefined ? 'n/a' : r.toFixed(2),
    perUrl ? perUrl.map((n) => `${Math.round((n / Math.max(1, row.total)) * 100)} %`).join(' / ') : '–',
    row.serverCpuUsPerReq === undefined ? '?' : `${row.serverCpuUsPerReq} (${row.serverCpuPct} %)`,
    row.redisCpuUsPerReq === undefined ? '–' : `${row.redisCpuUsPerReq} (${row.redisCpuPct} %)`,
    String(row.loaderCpuPct ?? '?'),
    String(row.otherCpuPct ?? '?'),
    String(row.stealCpuPct ?? '?'),
  ];
}

const allRows = (report: ClusterBenchReport): ScenarioRow[] => [
  ...(report.baseline ? [report.baseline] : []),
  ...report.scenarios,
];

/** Per round, each cluster row's req/s ÷ that round's baseline. */
function roundRatios(report: ClusterBenchReport): string[] {
  return report.scenarios.map((row) => {
    const ratios = report.rounds.map((round) => {
      const base = round.find((r) => r.scenario.startsWith('baseline'));
      const own = round.find((r) => r.scenario === row.scenario);
      return base && own && base.reqPerSec > 0 ? (own.reqPerSec / base.reqPerSec).toFixed(2) : 'n/a';
    });
    return `${row.scenario} ${ratios.join(' ')}`;
  });
}

function summaryLines(report: ClusterBenchReport): string[] {
  const lines = [
    `cluster ÷ node a alone (paired per round): ${Object.entries(report.clusterOverOneNode)
      .map(([scenario, r]) => `${scenario} ${r ?? 'n/a'}×`)
      .join(', ')}`,
    `× baseline per round: ${roundRatios(report).join('; ')}`,
    `propagation: node b served every seeded instance ${report.propagationMs} ms after the seeding through node a`,
  ];
  if (report.singleNodeRun) {
    lines.push(
      `single-node run (SQLite, no Redis) of this invocation: × baseline ${Object.entries(report.singleNodeRun.ratios)
        .map(([scenario, r]) => `${scenario} ${r ?? 'n/a'}`)
        .join(', ')}; CPU µs/req ${Object.entries(report.singleNodeRun.cpuUsPerReq)
        .map(([scenario, us]) => `${scenario} ${us ?? '?'}`)
        .join(', ')}`,
    );
  }
  lines.push(
    `gateway nodes: ${report.gatewayNodes
      .map(
        (n) =>
          `${n.nodeId} pid ${n.pid} RSS ${n.rssMbAfterWarmup ?? '?'} → ${n.rssMbAtEnd ?? '?'} MiB, ${n.logLines} log lines`,
      )
      .join('; ')}`,
  );
  return lines;
}

export function clusterConsoleTable(report: ClusterBenchReport): string {
  const rows = [HEADER, ...allRows(report).map((row) => cells(row, report))];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [
    `Cluster: ${report.config.nodes} nodes on MySQL ${report.config.mysqlServer} and Redis ${report.config.redis}`,
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    ...report.checks.map((check) => `${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`),
    ...summaryLines(report),
    `gateway source: ${report.source}`,
    `cluster overall: ${report.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

export function clusterMarkdown(report: ClusterBenchReport): string {
  const table = [
    HEADER,
    HEADER.map((_, c) => (c === 0 ? '---' : '---:')),
    ...allRows(report).map((row) => cells(row, report)),
  ].map((r) => `| ${r.join(' | ')} |`);
  return [
    '# HTTP benchmark, cluster mode: select-instance / report-result on two nodes',
    '',
    `- date: ${report.date}`,
    `- node: ${report.node}; machine: ${report.machine.cpus} × ${report.machine.model}: the ${report.config.nodes} ` +
      'gateway nodes, Redis, MariaDB, the bare Fastify baseline and the load generator all share these cores',
    `- command: \`${report.command}\`; gateway source: ${report.source}`,
    `- ${report.config.nodes} gateway nodes (\`node dist/main.js\`, LOG_LEVEL=warn) on a fresh database on ` +
      `${report.config.mysqlServer} and Redis ${report.config.redis}; seeded through node a`,
    `- load: one autocannon, ${report.config.connections} connections in all, opened alternately to each node ` +
      `(\`, ${report.config.nodes} nodes\` rows) or all to node a (\`, node a alone\` rows); ` +
      `${report.config.duration} s per scenario and round, ${report.config.rounds} rounds (the table: medians), ` +
      `after ${report.config.warmupSeconds} s of warm-up each`,
    `- fixture: ${report.fixture.projects} projects × ${report.fixture.instancesPerProject} instances ` +
      `(${report.fixture.identifiers} identifiers), one API key each` +
      (report.fixture.leaseTtlMs === undefined ? '' : `, leases of ${report.fixture.leaseTtlMs} ms`),
    ...summaryLines(report).map((line) => `- ${line}`),
    '',
    ...table,
    '',
    'gateway CPU: user+system CPU time of all the gateway nodes together per response (node b idles in the ' +
      '"node a alone" rows); Redis CPU: redis-server (when it runs on this machine); loader: the autocannon ' +
      `process; other: everything else (${report.machine.cpus} cores = ${report.machine.cpus * 100} %).`,
    '',
    ...report.checks.map((check) => `- **${check.pass ? 'PASS' : 'FAIL'}** ${check.name}: ${check.value}`),
    '',
    `Overall: **${report.pass ? 'PASS' : 'FAIL'}**`,
    '',
  ].join('\n');
}

export function writeClusterResults(report: ClusterBenchReport, jsonPath: string, mdPath: string): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(mdPath, clusterMarkdown(report));
}

/** The HTTP benchmark's verdict: targets, the console table, bench/results/http.{json,md}. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import type { ScenarioRow } from './scenarios';

export const TARGETS = { minRatio: 0.6, maxP99Ms: 10 } as const;

export interface Check {
  readonly name: string;
  readonly value: string;
  readonly pass: boolean;
}

export interface BenchReport {
  readonly date: string;
  readonly node: string;
  readonly command: string;
  readonly machine: { cpus: number; model: string };
  /** The commit the working tree is at, and whether src/ differs from it (dist/ is built from src/). */
  readonly source: string;
  readonly config: {
    connections: number;
    duration: number;
    warmupSeconds: number;
    rounds: number;
    lightConnections: number;
  };
  readonly sizes: Record<string, number>;
  readonly gateway: {
    readonly pid: number;
    readonly addressFoundBy: string;
    readonly rssMbAfterWarmup?: number;
    readonly rssMbAtEnd?: number;
    readonly logLines: number;
  };
  readonly fixture: { projects: number; instancesPerProject: number; identifiers: number };
  /** The median of the rounds (see {@link medianRow}); the verdict is on these. */
  readonly baseline?: ScenarioRow;
  readonly scenarios: readonly ScenarioRow[];
  /** Each round's rows: baseline, select, report and mix, one after the other. */
  readonly rounds: readonly (readonly ScenarioRow[])[];
  /**
   * The same scenarios at a light concurrency (`--light-connections`, rows named `… @ N conn`):
   * the latency with 5 requests in flight instead of 50 (ADR 0004). Its baseline first.
   */
  readonly light: readonly ScenarioRow[];
  /** Not judged; kept for their per-second ramp (the JIT warming up). */
  readonly warmups: readonly ScenarioRow[];
  readonly checks: readonly Check[];
  readonly pass: boolean;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round(((sorted[mid - 1] + sorted[mid]) / 2) * 100) / 100;
};

/**
 * One row for a scenario run in several rounds: the median of each rate, latency and CPU figure
 * (each on its own), and the sums of the counts, so a single non-2xx in any round still shows.
 * The machine's speed drifts by tens of percent over minutes (other guests); rounds that
 * interleave the baseline with the scenarios, summarised by medians, compare like with like.
 */
export function medianRow(rows: readonly ScenarioRow[]): ScenarioRow {
  if (rows.length === 1) return rows[0];
  const of = (pick: (row: ScenarioRow) => number | undefined): number | undefined => {
    const values = rows.map(pick).filter((value): value is number => value !== undefined);
    return values.length === rows.length ? median(values) : undefined;
  };
  const sum = (pick: (row: ScenarioRow) => number): number => rows.reduce((total, row) => total + pick(row), 0);
  const statusCodes: Record<string, number> = {};
  for (const row of rows) {
    for (const [code, count] of Object.entries(row.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    scenario: rows[0].scenario,
    reqPerSec: of((row) => row.reqPerSec) ?? 0,
    total: sum((row) => row.total),
    p50Ms: of((row) => row.p50Ms) ?? 0,
    p99Ms: of((row) => row.p99Ms) ?? 0,
    maxMs: Math.max(...rows.map((row) => row.maxMs)),
    non2xx: sum((row) => row.non2xx),
    errors: sum((row) => row.errors),
    timeouts: sum((row) => row.timeouts),
    statusCodes,
    failures: rows.flatMap((row) => row.failures).slice(0, 5),
    durationS: sum((row) => row.durationS),
    notes: rows[0].notes,
    perSecond: rows.flatMap((row) => row.perSecond),
    serverCpuPct: of((row) => row.serverCpuPct),
    serverCpuUsPerReq: of((row) => row.serverCpuUsPerReq),
    loaderCpuPct: of((row) => row.loaderCpuPct),
    otherCpuPct: of((row) => row.otherCpuPct),
    stealCpuPct: of((row) => row.stealCpuPct),
    loadAvg1m: rows[0].loadAvg1m,
    // Cluster rows only (undefined, and so left out, on a single node).
    ...perUrlSum(rows),
    ...optional(
      'redisCpuPct',
      of((row) => row.redisCpuPct),
    ),
    ...optional(
      'redisCpuUsPerReq',
      of((row) => row.redisCpuUsPerReq),
    ),
  };
}

const optional = <K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, number>);

/** The rounds' responses per url, added up (cluster rows). */
function perUrlSum(rows: readonly ScenarioRow[]): { responsesPerUrl?: number[] } {
  const lists = rows.map((row) => row.responsesPerUrl);
  if (lists.some((list) => list === undefined)) return {};
  return { responsesPerUrl: (lists[0] ?? []).map((_, i) => lists.reduce((sum, list) => sum + (list?.[i] ?? 0), 0)) };
}

const isBaseline = (row: ScenarioRow): boolean => row.scenario.startsWith('baseline');

/**
 * The verdict's ratio: the median over the rounds of the scenario's req/s ÷ that round's own
 * baseline req/s (pairs measured a minute apart, not medians taken apart). Undefined without rounds.
 */
export function pairedRatio(rounds: readonly (readonly ScenarioRow[])[], scenario: string): number | undefined {
  const ratios: number[] = [];
  for (const round of rounds) {
    const base = round.find(isBaseline);
    const row = round.find((r) => r.scenario === scenario);
    if (base && row && base.reqPerSec > 0) ratios.push(row.reqPerSec / base.reqPerSec);
  }
  return ratios.length > 0 ? Math.round(median(ratios) * 100) / 100 : undefined;
}

/** Per round, each scenario's req/s ÷ that round's baseline: `select 0.64 0.66 0.71`. */
export function roundRatios(report: BenchReport): string[] {
  const names =
    report.rounds[0]?.filter((row) => !row.scenario.startsWith('baseline')).map((row) => row.scenario) ?? [];
  return names.map((name) => {
    const ratios = report.rounds.map((round) => {
      const base = round.find((row) => row.scenario.startsWith('baseline'));
      const row = round.find((r) => r.scenario === name);
      return row && base ? (ratio(row, base)?.toFixed(2) ?? 'n/a') : 'n/a';
    });
    return `${name} ${ratios.join(' ')}`;
  });
}

export function ratio(row: ScenarioRow, baseline: ScenarioRow | undefined): number | undefined {
  return baseline && baseline.reqPerSec > 0 ? Math.round((row.reqPerSec / baseline.reqPerSec) * 100) / 100 : undefined;
}

/**
 * select/report throughput against the baseline (paired per round when there are rounds: see
 * {@link pairedRatio}); p99 and zero non-2xx (and no errors) everywhere.
 */
export function checks(
  baseline: ScenarioRow | undefined,
  rows: readonly ScenarioRow[],
  rounds: readonly (readonly ScenarioRow[])[] = [],
): Check[] {
  const result: Check[] = [];
  for (const row of rows) {
    const r = pairedRatio(rounds, row.scenario) ?? ratio(row, baseline);
    if ((row.scenario === 'select' || row.scenario === 'report') && r !== undefined) {
      result.push({
        name: `${row.scenario} req/s ≥ ${TARGETS.minRatio}× baseline`,
        value: `${r}×`,
        pass: r >= TARGETS.minRatio,
      });
    }
  }
  for (const row of rows) {
    result.push({
      name: `${row.scenario} p99 ≤ ${TARGETS.maxP99Ms} ms`,
      value: `${row.p99Ms} ms`,
      pass: row.p99Ms <= TARGETS.maxP99Ms,
    });
  }
  for (const row of rows) {
    result.push({
      name: `${row.scenario} zero non-2xx, errors, timeouts`,
      value: `${row.non2xx} / ${row.errors} / ${row.timeouts}`,
      pass: row.non2xx === 0 && row.errors === 0 && row.timeouts === 0,
    });
  }
  return result;
}

const HEADER = [
  'scenario',
  'req/s (mean)',
  'p50 ms',
  'p99 ms',
  'non-2xx',
  'errors/timeouts',
  '× baseline',
  'server CPU µs/req (%)',
  'loader CPU %',
  'other CPU %',
  'steal %',
];

/** The name of a scenario's row at the light concurrency. */
export const lightName = (scenario: string, connections: number): string => `${scenario} @ ${connections} conn`;
const isLight = (row: ScenarioRow): boolean => row.scenario.endsWith(' conn');

function cells(row: ScenarioRow, report: BenchReport): string[] {
  const light = isLight(row);
  const baseline = light ? report.light.find(isBaseline) : report.baseline;
  const r =
    row === baseline ? 1 : ((light ? undefined : pairedRatio(report.rounds, row.scenario)) ?? ratio(row, baseline));
  return [
    row.scenario,
    String(row.reqPerSec),
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.non2xx),
    `${row.errors}/${row.timeouts}`,
    r === undefined ? 'n/a' : r.toFixed(2),
    row.serverCpuUsPerReq === undefined ? '?' : `${row.serverCpuUsPerReq} (${row.serverCpuPct} %)`,
    String(row.loaderCpuPct ?? '?'),
    String(row.otherCpuPct ?? '?'),
    String(row.stealCpuPct ?? '?'),
  ];
}

function allRows(report: BenchReport): ScenarioRow[] {
  return [...(report.baseline ? [report.baseline] : []), ...report.scenarios, ...report.light];
}

/**
 * Baseline CPU per response ÷ the scenario's: what the throughput ratio tends to when both servers
 * are CPU-bound, whatever else runs on the machine.
 */
export function cpuCostRatios(report: BenchReport): string {
  const base = report.baseline?.serverCpuUsPerReq;
  if (!base) return 'n/a';
  return report.scenarios
    .filter((row) => row.serverCpuUsPerReq)
    .map((row) => `${row.scenario} ${(base / (row.serverCpuUsPerReq ?? 1)).toFixed(2)}×`)
    .join(', ');
}

export function consoleTable(report: BenchReport): string {
  const rows = [HEADER, ...allRows(report).map((row) => cells(row, report))];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line), ''];
  for (const check of report.checks) out.push(`${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`);
  for (const row of allRows(report)) out.push(`responses per second, ${row.scenario}: ${row.perSecond.join(' ')}`);
  if (report.rounds.length > 1) out.push(`× baseline per round: ${roundRatios(report).join('; ')}`);
  out.push(`gateway source: ${report.source}`);
  out.push(`CPU-cost ratio (baseline CPU/req ÷ scenario CPU/req): ${cpuCostRatios(report)}`);
  out.push(
    `gateway RSS: ${report.gateway.rssMbAfterWarmup ?? '?'} MiB after warm-up, ${report.gateway.rssMbAtEnd ?? '?'} MiB at end`,
  );
  out.push(`overall: ${report.pass ? 'PASS' : 'FAIL'}`);
  return out.join('\n');
}

export function markdown(report: BenchReport): string {
  const rows = allRows(report).map((row) => cells(row, report));
  const table = [HEADER, HEADER.map((_, c) => (c === 0 ? '---' : '---:')), ...rows].map((r) => `| ${r.join(' | ')} |`);
  const notes = allRows(report)
    .filter((row) => Object.keys(row.statusCodes).some((code) => !code.startsWith('2')) || row.failures.length > 0)
    .map((row) => `- ${row.scenario}: status codes ${JSON.stringify(row.statusCodes)}; e.g. \`${row.failures[0]}\``);
  const found =
    report.gateway.addressFoundBy === 'log' ? 'its "Listening on" line' : '/proc (LOG_LEVEL=warn hides "Listening on")';
  return [
    '# HTTP benchmark: select-instance / report-result',
    '',
    `- date: ${report.date}`,
    `- node: ${report.node}; machine: ${report.machine.cpus} × ${report.machine.model} (load generator on the same machine)`,
    `- command: \`${report.command}\`; gateway source: ${report.source} (built into dist/ before the run)`,
    `- load: ${report.config.connections} connections, ${report.config.duration} s per scenario and round, ` +
      `${report.config.rounds} rounds of baseline → select → report → mix (the table: medians over the rounds), ` +
      `after ${report.config.warmupSeconds} s of warm-up each (select, report, mix; baseline); ` +
      `then each once more at ${report.config.lightConnections} connections (rows \`@ ${report.config.lightConnections} conn\`)`,
    ...(report.rounds.length > 1 ? [`- × baseline per round: ${roundRatios(report).join('; ')}`] : []),
    `- fixture: ${report.fixture.projects} projects × ${report.fixture.instancesPerProject} instances ` +
      `(${report.fixture.identifiers} identifiers), one API key each, seeded over HTTP`,
    `- sizes (bytes): ${Object.entries(report.sizes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- gateway address learnt from ${found}; ` +
      `${report.gateway.logLines} log lines at warn level or above during the run`,
    `- gateway child (\`node dist/main.js\`, SQLite in a temp dir, LOG_LEVEL=warn) RSS: ` +
      `${report.gateway.rssMbAfterWarmup ?? '?'} MiB after warm-up, ${report.gateway.rssMbAtEnd ?? '?'} MiB at end`,
    '',
    ...table,
    '',
    'server CPU: user+system CPU time of the server child (all its threads, GC included) per response, ' +
      'and its CPU use in % of one core (/proc/<pid>/stat); loader CPU: the autocannon process; other CPU: ' +
      `every other process on the machine (${report.machine.cpus} cores = ${report.machine.cpus * 100} %); ` +
      'steal: CPU the hypervisor withheld. ' +
      'Throughput and latency are only comparable between runs with similar "other CPU"; the CPU cost per ' +
      `response is steadier. CPU-cost ratio (baseline ÷ scenario): ${cpuCostRatios(report)}.`,
    '',
    ...report.checks.map((check) => `- **${check.pass ? 'PASS' : 'FAIL'}** ${check.name}: ${check.value}`),
    '',
    `Overall: **${report.pass ? 'PASS' : 'FAIL'}**`,
    ...(notes.length > 0 ? ['', 'Non-2xx responses:', '', ...notes] : []),
    '',
  ].join('\n');
}

/** Read-only git queries; 'unknown' outside a repository. */
export function sourceVersion(root: string): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function machine(): { cpus: number; model: string } {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model.trim() ?? 'unknown' };
}

export function writeResults(report: BenchReport, jsonPath: string, mdPath: string): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(mdPath, markdown(report));
}

/** The HTTP benchmark's verdict: targets, the console table, bench/results/http.{json,md}. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import type { ScenarioRow } from './scenarios';

/**
 * Issue #17's targets, as ADR 0004 restates them: throughput against the current baseline of the
 * same rounds; latency at the light concurrency in absolute terms and at 50 connections only
 * against the baseline's own p99 there (Little's law makes an absolute figure at 50 connections a
 * measure of the machine); heap allocated per select, which drives the GC share of the CPU.
 */
export const TARGETS = {
  /** select, report and mix req/s ÷ the current baseline's (paired per round, median). */
  minRatio: 0.75,
  /** p99 of select, report and mix at `--light-connections` (5). */
  lightMaxP99Ms: 5,
  /** p99 of select, report and mix at `--connections` (50) ÷ the current baseline's p99 there. */
  maxP99VsBaseline: 2,
  /** V8 heap bytes allocated per select response (alloc-probe.ts). */
  maxHeapBytesPerSelect: 20 * 1024,
} as const;

/** The scenarios the targets judge (the baselines are measured, not judged, but for errors). */
const JUDGED = ['select', 'report', 'mix'];

/** The current baseline's row name (bare-fastify.ts, answer serialised per request). */
export const BASELINE_NAME = 'baseline (bare Fastify)';
/** The tight baseline's row name (bare-fastify.ts with BENCH_BASELINE=tight). */
export const TIGHT_NAME = 'baseline (tight: schema, key, pre-serialised)';
/** The tight baseline's name in the light pass (`… @ 5 conn`): shorter, it still starts with `baseline (tight`. */
export const TIGHT_LIGHT = 'baseline (tight)';

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
    /** The V8 flags the gateway and both baselines ran with (absent in runs before they were recorded). */
    nodeFlags?: readonly string[];
  };
  readonly sizes: Record<string, number>;
  readonly gateway: {
    readonly pid: number;
    readonly addressFoundBy: string;
    readonly rssMbAfterWarmup?: number;
    readonly rssMbAtEnd?: number;
    readonly logLines: number;
  };
  readonly fixture: { projects: number; instancesPerProject: number; identifiers: number; leaseTtlMs?: number };
  /** The median of the rounds (see {@link medianRow}); the verdict is on these. */
  readonly baseline?: ScenarioRow;
  /** The tight baseline's median row: reported (its ratios too), not judged but for errors. */
  readonly tightBaseline?: ScenarioRow;
  /** select, report and mix (the medians): neither baseline. */
  readonly scenarios: readonly ScenarioRow[];
  /**
   * Per row of the table (light rows too), its req/s ÷ the current baseline's and ÷ the tight
   * baseline's: paired per round for the 50-connection rows ({@link pairedRatio}), the one pass's
   * ratio for the light rows.
   */
  readonly ratios: Record<string, { readonly baseline?: number; readonly tight?: number }>;
  /** Each round's rows: baseline, tight baseline, select, report and mix, one after the other. */
  readonly rounds: readonly (readonly ScenarioRow[])[];
  /**
   * The same scenarios at a light concurrency (`--light-connections`, rows named `… @ N conn`):
   * the latency with 5 requests in flight instead of 50 (ADR 0004). Its baselines first.
   */
  readonly light: readonly ScenarioRow[];
  /** Not judged; kept for their per-second ramp (the JIT warming up). */
  readonly warmups: readonly ScenarioRow[];
  readonly checks: readonly Check[];
  readonly pass: boolean;
}

/** The median, rounded to 2 decimals when it falls between two values. */
export const median = (values: readonly number[]): number => {
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
  const roundedOf = (pick: (row: ScenarioRow) => number | undefined): number | undefined => {
    const value = of(pick);
    return value === undefined ? undefined : Math.round(value);
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
    ...optional(
      'heapBytesPerReq',
      roundedOf((row) => row.heapBytesPerReq),
    ),
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

/** The tight baseline's rows (50 connections and light): their names start with `baseline (tight`. */
export const isTight = (row: ScenarioRow): boolean => row.scenario.startsWith('baseline (tight');
/**
 * The current baseline's rows. Both baselines' names start with `baseline` (and the current one
 * runs first in each round), so whatever looks for "the baseline" that way still finds it; here
 * the tight one is left out explicitly.
 */
const isBaseline = (row: ScenarioRow): boolean => row.scenario.startsWith('baseline') && !isTight(row);
const isEitherBaseline = (row: ScenarioRow): boolean => row.scenario.startsWith('baseline');

/** Which baseline a ratio divides by: the current one (judged) or the tight one (reported). */
export type Against = 'baseline' | 'tight';
const reference = (against: Against): ((row: ScenarioRow) => boolean) => (against === 'tight' ? isTight : isBaseline);

/**
 * The verdict's ratio: the median over the rounds of the scenario's req/s ÷ that round's own
 * baseline req/s (pairs measured a minute apart, not medians taken apart). Undefined without rounds.
 * `against` picks the baseline: the current one (default, what the targets judge) or the tight one.
 */
export function pairedRatio(
  rounds: readonly (readonly ScenarioRow[])[],
  scenario: string,
  against: Against = 'baseline',
): number | undefined {
  const ratios: number[] = [];
  for (const round of rounds) {
    const base = round.find(reference(against));
    const row = round.find((r) => r.scenario === scenario);
    if (base && row && base.reqPerSec > 0) ratios.push(row.reqPerSec / base.reqPerSec);
  }
  return ratios.length > 0 ? Math.round(median(ratios) * 100) / 100 : undefined;
}

/** Per round, each scenario's req/s ÷ that round's baseline (or tight baseline): `select 0.64 0.66 0.71`. */
export function roundRatios(report: BenchReport, against: Against = 'baseline'): string[] {
  const names = report.rounds[0]?.filter((row) => !isEitherBaseline(row)).map((row) => row.scenario) ?? [];
  return names.map((name) => {
    const ratios = report.rounds.map((round) => {
      const base = round.find(reference(against));
      const row = round.find((r) => r.scenario === name);
      return row && base ? (ratio(row, base)?.toFixed(2) ?? 'n/a') : 'n/a';
    });
    return `${name} ${ratios.join(' ')}`;
  });
}

export function ratio(row: ScenarioRow, baseline: ScenarioRow | undefined): number | undefined {
  return baseline && baseline.reqPerSec > 0 ? Math.round((row.reqPerSec / baseline.reqPerSec) * 100) / 100 : undefined;
}

/** What {@link checks} judges: the medians, the light pass and the rounds of one run. */
export interface CheckInput {
  /** The current baseline's median row (the throughput and 50-connection p99 reference). */
  readonly baseline?: ScenarioRow;
  readonly tightBaseline?: ScenarioRow;
  /** select, report and mix: the medians over the rounds at `--connections`. */
  readonly scenarios: readonly ScenarioRow[];
  /** The light pass, its baselines included. */
  readonly light: readonly ScenarioRow[];
  readonly rounds?: readonly (readonly ScenarioRow[])[];
}

const judged = (row: ScenarioRow): boolean => JUDGED.includes(row.scenario.replace(/ @ \d+ conn$/, ''));
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

/**
 * The targets ({@link TARGETS}): select, report and mix throughput ≥ 0.75× the current baseline
 * (paired per round when there are rounds: see {@link pairedRatio}); their p99 ≤ 2× the baseline's
 * own at `--connections` and ≤ 5 ms at `--light-connections`; heap allocated per select ≤ 20 KiB;
 * zero non-2xx, errors and timeouts on every row, both baselines included (a baseline that
 * refuses requests would make its ratios meaningless). The tight baseline's ratios are not judged.
 */
export function checks(input: CheckInput): Check[] {
  const { baseline, scenarios, light, rounds = [] } = input;
  const result: Check[] = [];
  for (const row of scenarios.filter(judged)) {
    const r = pairedRatio(rounds, row.scenario) ?? ratio(row, baseline);
    if (r === undefined) continue;
    result.push({
      name: `${row.scenario} req/s ≥ ${TARGETS.minRatio}× baseline`,
      value: `${r}×`,
      pass: r >= TARGETS.minRatio,
    });
  }
  if (baseline) {
    const limit = Math.round(TARGETS.maxP99VsBaseline * baseline.p99Ms * 100) / 100;
    for (const row of scenarios.filter(judged)) {
      result.push({
        name: `${row.scenario} p99 ≤ ${TARGETS.maxP99VsBaseline}× baseline's p99 (${baseline.p99Ms} ms)`,
        value: `${row.p99Ms} ms`,
        pass: row.p99Ms <= limit,
      });
    }
  }
  for (const row of light.filter(judged)) {
    result.push({
      name: `${row.scenario} p99 ≤ ${TARGETS.lightMaxP99Ms} ms`,
      value: `${row.p99Ms} ms`,
      pass: row.p99Ms <= TARGETS.lightMaxP99Ms,
    });
  }
  const select = scenarios.find((row) => row.scenario === 'select');
  if (select) {
    const bytes = select.heapBytesPerReq;
    result.push({
      name: `select heap allocated ≤ ${TARGETS.maxHeapBytesPerSelect / 1024} KB per request`,
      value: bytes === undefined ? 'not measured' : `${kb(bytes)} KB`,
      pass: bytes !== undefined && bytes <= TARGETS.maxHeapBytesPerSelect,
    });
  }
  const everywhere = [
    ...(baseline ? [baseline] : []),
    ...(input.tightBaseline ? [input.tightBaseline] : []),
    ...scenarios,
    ...light,
  ];
  for (const row of everywhere) {
    result.push({
      name: `${row.scenario} zero non-2xx, errors, timeouts`,
      value: `${row.non2xx} / ${row.errors} / ${row.timeouts}`,
      pass: row.non2xx === 0 && row.errors === 0 && row.timeouts === 0,
    });
  }
  return result;
}

/**
 * Every row's ratios to both baselines, for the report's JSON and the tables: paired per round
 * for the rows measured in rounds (both baselines' medians included), the single pass's ratio for
 * the light rows. A baseline's ratio to itself is 1.
 */
export function ratiosOf(input: CheckInput): Record<string, { baseline?: number; tight?: number }> {
  const { light, rounds = [] } = input;
  const medians = [
    ...(input.baseline ? [input.baseline] : []),
    ...(input.tightBaseline ? [input.tightBaseline] : []),
    ...input.scenarios,
  ];
  const one = (row: ScenarioRow, against: Against, lightRow: boolean): number | undefined => {
    const base = lightRow ? light.find(reference(against)) : against === 'tight' ? input.tightBaseline : input.baseline;
    if (row === base) return 1;
    return (lightRow ? undefined : pairedRatio(rounds, row.scenario, against)) ?? ratio(row, base);
  };
  const result: Record<string, { baseline?: number; tight?: number }> = {};
  for (const row of medians) {
    result[row.scenario] = { baseline: one(row, 'baseline', false), tight: one(row, 'tight', false) };
  }
  for (const row of light) {
    result[row.scenario] = { baseline: one(row, 'baseline', true), tight: one(row, 'tight', true) };
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
  '× tight',
  'server CPU µs/req (%)',
  'heap KB/req',
  'loader CPU %',
  'other CPU %',
  'steal %',
];

/** The name of a scenario's row at the light concurrency. */
export const lightName = (scenario: string, connections: number): string => `${scenario} @ ${connections} conn`;

function cells(row: ScenarioRow, report: BenchReport): string[] {
  const r = report.ratios[row.scenario] ?? {};
  const fixed = (value: number | undefined): string => (value === undefined ? 'n/a' : value.toFixed(2));
  return [
    row.scenario,
    String(row.reqPerSec),
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.non2xx),
    `${row.errors}/${row.timeouts}`,
    fixed(r.baseline),
    fixed(r.tight),
    row.serverCpuUsPerReq === undefined ? '?' : `${row.serverCpuUsPerReq} (${row.serverCpuPct} %)`,
    row.heapBytesPerReq === undefined ? '–' : kb(row.heapBytesPerReq),
    String(row.loaderCpuPct ?? '?'),
    String(row.otherCpuPct ?? '?'),
    String(row.stealCpuPct ?? '?'),
  ];
}

function allRows(report: BenchReport): ScenarioRow[] {
  return [
    ...(report.baseline ? [report.baseline] : []),
    ...(report.tightBaseline ? [report.tightBaseline] : []),
    ...report.scenarios,
    ...report.light,
  ];
}

/**
 * Baseline CPU per response ÷ the scenario's: what the throughput ratio tends to when both servers
 * are CPU-bound, whatever else runs on the machine. `against` picks the baseline.
 */
export function cpuCostRatios(report: BenchReport, against: Against = 'baseline'): string {
  const base = (against === 'tight' ? report.tightBaseline : report.baseline)?.serverCpuUsPerReq;
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
  if (perRound(report)) out.push(`× baseline per round: ${roundRatios(report).join('; ')}`);
  if (perRound(report) && report.tightBaseline)
    out.push(`× tight per round: ${roundRatios(report, 'tight').join('; ')}`);
  out.push(`× tight (not judged): ${tightSummary(report)}`);
  out.push(`gateway source: ${report.source}`);
  out.push(`CPU-cost ratio (baseline CPU/req ÷ scenario CPU/req): ${cpuCostRatios(report)}`);
  out.push(`CPU-cost ratio (tight baseline CPU/req ÷ scenario CPU/req): ${cpuCostRatios(report, 'tight')}`);
  out.push(
    `gateway RSS: ${report.gateway.rssMbAfterWarmup ?? '?'} MiB after warm-up, ${report.gateway.rssMbAtEnd ?? '?'} MiB at end`,
  );
  out.push(`overall: ${report.pass ? 'PASS' : 'FAIL'}`);
  return out.join('\n');
}

/** Whether per-round ratios say anything: several rounds, and scenarios beside the baselines. */
const perRound = (report: BenchReport): boolean => report.rounds.length > 1 && report.scenarios.length > 0;

/** select, report and mix ÷ the tight baseline (paired per round): `select 0.41×, report 0.45×`. */
function tightSummary(report: BenchReport): string {
  if (!report.tightBaseline || report.scenarios.length === 0) return 'n/a';
  return report.scenarios.map((row) => `${row.scenario} ${report.ratios[row.scenario]?.tight ?? 'n/a'}×`).join(', ');
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
      `${report.config.rounds} rounds of baseline → tight baseline → select → report → mix (the table: medians over the rounds), ` +
      `after ${report.config.warmupSeconds} s of warm-up each (select, report, mix; both baselines); ` +
      `then each once more at ${report.config.lightConnections} connections (rows \`@ ${report.config.lightConnections} conn\`)`,
    ...(report.config.nodeFlags === undefined
      ? []
      : [`- node flags (gateway and both baselines): ${report.config.nodeFlags.join(' ') || 'none'}`]),
    '- baselines: bare Fastify 5 in its own process answering the same-size body; the current one parses the ' +
      'body and serialises a precomputed object per request; the tight one validates the body against a JSON ' +
      'schema (apiIdentifier, apiType), checks the api-key header (401 otherwise) and sends the answer serialised ' +
      'once. The targets use × baseline; × tight is reported, not judged',
    ...(perRound(report) ? [`- × baseline per round: ${roundRatios(report).join('; ')}`] : []),
    ...(perRound(report) && report.tightBaseline
      ? [`- × tight per round: ${roundRatios(report, 'tight').join('; ')}`]
      : []),
    `- × tight (paired per round, not judged): ${tightSummary(report)}`,
    `- fixture: ${report.fixture.projects} projects × ${report.fixture.instancesPerProject} instances ` +
      `(${report.fixture.identifiers} identifiers), one API key each, seeded over HTTP` +
      (report.fixture.leaseTtlMs === undefined ? '' : `, leases of ${report.fixture.leaseTtlMs} ms`),
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
      'steal: CPU the hypervisor withheld. heap KB/req: V8 heap bytes the server child allocated per response ' +
      '(a preloaded probe sums the used heap before each GC minus after the previous one, read around each load). ' +
      'Throughput and latency are only comparable between runs with similar "other CPU"; the CPU cost per ' +
      `response is steadier. CPU-cost ratio (baseline ÷ scenario): ${cpuCostRatios(report)}; ` +
      `(tight baseline ÷ scenario): ${cpuCostRatios(report, 'tight')}.`,
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

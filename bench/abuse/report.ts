/**
 * The noisy-neighbour bench's verdict and tables: per phase, the victim's select figures against
 * its quiet ones (the verdict: p99 ≤ 3× quiet, zero non-2xx), and what the hostile tenant got, so
 * that a reader can see the attack was real. Written to bench/results/abuse.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Check } from '../http/report';
import type { ScenarioRow } from '../http/scenarios';
import type { Attack, HostileFigures } from './attacks';

/** Issue #15: under a hostile tenant, another tenant's select p99 stays ≤ 3× its quiet value. */
export const MAX_P99_RATIO = 3;
/** autocannon reports whole milliseconds: a quiet 0 ms is counted as 1 ms in the ratios. */
const RESOLUTION_MS = 1;

export interface PhaseResult {
  readonly phase: string;
  readonly attacks: readonly Attack[];
  /** The victim's select load during the phase (server CPU is the gateway's, serving both tenants). */
  readonly victim: ScenarioRow;
  readonly hostile?: HostileFigures;
  readonly gatewayRssMb?: number;
}

export interface AbuseReport {
  readonly date: string;
  readonly node: string;
  readonly command: string;
  readonly machine: { cpus: number; model: string };
  readonly source: string;
  /** `uptime` just before the run: the machine is shared, its load says how far to trust the figures. */
  readonly uptimeBefore: string;
  readonly database: string;
  readonly config: {
    readonly duration: number;
    readonly warmupSeconds: number;
    readonly victimConnections: number;
    readonly wideInstances: number;
    readonly explainConnections: number;
    readonly batchSize: number;
    readonly loginConnections: number;
    readonly spoofShare: number;
    readonly scrapers: number;
    readonly hostileNice: number;
  };
  readonly fixture: {
    readonly victimInstances: number;
    readonly victimIdentifiers: number;
    readonly wideInstances: number;
  };
  /** One `explain: true` select over the wide project before the phases: its size, candidates listed and counted. */
  readonly explainSample: { readonly bytes: number; readonly listed: number; readonly total: number };
  readonly phases: readonly PhaseResult[];
  readonly checks: readonly Check[];
  readonly pass: boolean;
}

const ratio = (value: number, reference: number): number =>
  Math.round((Math.max(value, RESOLUTION_MS) / Math.max(reference, RESOLUTION_MS)) * 100) / 100;

const throughputRatio = (row: ScenarioRow, quiet: ScenarioRow): number | undefined =>
  quiet.reqPerSec > 0 ? Math.round((row.reqPerSec / quiet.reqPerSec) * 100) / 100 : undefined;

/** Every phase after the first (the quiet reference): p99 ≤ 3× quiet; every phase: zero non-2xx, errors, timeouts. */
export function verdicts(phases: readonly PhaseResult[]): Check[] {
  const quiet = phases[0]?.victim;
  if (!quiet) return [];
  const checks: Check[] = [];
  for (const { phase, victim } of phases.slice(1)) {
    const r = ratio(victim.p99Ms, quiet.p99Ms);
    checks.push({
      name: `${phase}: victim select p99 ≤ ${MAX_P99_RATIO}× quiet`,
      value: `${victim.p99Ms} ms vs ${quiet.p99Ms} ms = ${r}×`,
      pass: r <= MAX_P99_RATIO,
    });
  }
  for (const { phase, victim } of phases) {
    checks.push({
      name: `${phase}: victim zero non-2xx, errors, timeouts`,
      value: `${victim.non2xx} / ${victim.errors} / ${victim.timeouts}`,
      pass: victim.non2xx === 0 && victim.errors === 0 && victim.timeouts === 0,
    });
  }
  return checks;
}

const VICTIM_HEADER = [
  'phase',
  'victim req/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'non-2xx',
  'p99 × quiet',
  'p50 × quiet',
  'req/s × quiet',
  'gateway CPU %',
  'victim loader %',
  'hostile driver %',
  'other %',
  'verdict',
];

function victimCells(result: PhaseResult, quiet: ScenarioRow, checks: readonly Check[]): string[] {
  const { victim, hostile } = result;
  const first = victim === quiet;
  const failed = checks.some((check) => check.name.startsWith(`${result.phase}:`) && !check.pass);
  const other =
    victim.otherCpuPct === undefined ? '?' : String(Math.max(0, victim.otherCpuPct - (hostile?.driverCpuPct ?? 0)));
  return [
    result.phase,
    String(victim.reqPerSec),
    String(victim.p50Ms),
    String(victim.p99Ms),
    String(victim.maxMs),
    String(victim.non2xx + victim.errors + victim.timeouts),
    first ? '1.00' : ratio(victim.p99Ms, quiet.p99Ms).toFixed(2),
    first ? '1.00' : ratio(victim.p50Ms, quiet.p50Ms).toFixed(2),
    first ? '1.00' : (throughputRatio(victim, quiet)?.toFixed(2) ?? 'n/a'),
    String(victim.serverCpuPct ?? '?'),
    String(victim.loaderCpuPct ?? '?'),
    hostile ? String(hostile.driverCpuPct) : '–',
    other,
    failed ? 'FAIL' : 'PASS',
  ];
}

const HOSTILE_HEADER = ['phase', 'hostile stream', 'conn', 'req/s', 'p50 ms', 'p99 ms', 'mean bytes', 'status mix'];

function hostileRows(phases: readonly PhaseResult[]): string[][] {
  return phases.flatMap((result) =>
    (result.hostile?.streams ?? []).map((stream) => [
      result.phase,
      stream.name,
      String(stream.connections),
      String(stream.reqPerSec),
      String(stream.p50Ms),
      String(stream.p99Ms),
      String(stream.meanBytes),
      Object.entries(stream.statusMix)
        .sort((a, b) => b[1] - a[1])
        .map(([status, count]) => `${status}: ${count}`)
        .concat(stream.errors > 0 ? [`socket errors/timeouts: ${stream.errors}`] : [])
        .join(', '),
    ]),
  );
}

/** Fixed-width console columns; text columns (`left`) padded on the right, figures on the left. */
function aligned(rows: readonly string[][], left: readonly number[]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

function markdownTable(rows: readonly string[][]): string[] {
  const [header, ...body] = rows;
  return [header, header.map((_, c) => (c === 0 ? '---' : '---:')), ...body].map((row) => `| ${row.join(' | ')} |`);
}

function tables(report: AbuseReport): { victim: string[][]; hostile: string[][] } {
  const quiet = report.phases[0].victim;
  return {
    victim: [VICTIM_HEADER, ...report.phases.map((result) => victimCells(result, quiet, report.checks))],
    hostile: [HOSTILE_HEADER, ...hostileRows(report.phases)],
  };
}

/** Why the victim got non-2xx answers, phase by phase: its status codes and the first body. */
function victimFailures(report: AbuseReport): string[] {
  return report.phases
    .filter(({ victim }) => victim.failures.length > 0)
    .map(
      ({ phase, victim }) =>
        `${phase}: victim status codes ${JSON.stringify(victim.statusCodes)}; e.g. ${victim.failures[0]}`,
    );
}

export function consoleReport(report: AbuseReport): string {
  const { victim, hostile } = tables(report);
  return [
    ...aligned(victim, [0]),
    '',
    ...aligned(hostile, [0, 1, HOSTILE_HEADER.length - 1]),
    '',
    ...report.checks.map((check) => `${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`),
    ...victimFailures(report),
    `gateway source: ${report.source}; database: ${report.database}; before the run: ${report.uptimeBefore}`,
    `overall: ${report.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

export function markdown(report: AbuseReport): string {
  const { victim, hostile } = tables(report);
  const c = report.config;
  return [
    '# Noisy neighbour: a victim tenant under a hostile one',
    '',
    `- date: ${report.date}; node ${report.node}; machine: ${report.machine.cpus} × ${report.machine.model} ` +
      '(the gateway, the victim load generator and the hostile driver share these cores)',
    `- command: \`${report.command}\`; gateway source: ${report.source}; database: ${report.database}`,
    `- before the run: \`${report.uptimeBefore}\``,
    `- victim: one project, ${report.fixture.victimInstances} instances over ${report.fixture.victimIdentifiers} ` +
      `identifiers; select-instance with autocannon, ${c.victimConnections} connections, ${c.duration} s per phase ` +
      `(after ${c.warmupSeconds} s of warm-up)`,
    `- hostile: ${report.fixture.wideInstances} instances under one identifier, explain on ${c.explainConnections} ` +
      `connections; batches of ${c.batchSize} fat instances (register, again, delete); ${c.loginConnections} ` +
      `connections of wrong-password logins (${Math.round(c.spoofShare * 100)} % from a fresh X-Forwarded-For ` +
      `address); ${c.scrapers} /metrics scrapers (half with the token); driver at nice ${c.hostileNice}`,
    `- one explain answer over the wide project: ${report.explainSample.bytes} bytes, ` +
      `${report.explainSample.listed} candidates listed of ${report.explainSample.total}`,
    '',
    ...markdownTable(victim),
    '',
    'gateway CPU: the gateway process (both tenants) in % of one core; victim loader: the bench process ' +
      '(autocannon); hostile driver: its own process; other: every other process on the machine ' +
      `(${report.machine.cpus} cores = ${report.machine.cpus * 100} %).`,
    '',
    ...markdownTable(hostile),
    '',
    ...report.checks.map((check) => `- **${check.pass ? 'PASS' : 'FAIL'}** ${check.name}: ${check.value}`),
    '',
    `Overall: **${report.pass ? 'PASS' : 'FAIL'}**`,
    ...victimFailures(report).map((line) => `\n- ${line}`),
    '',
  ].join('\n');
}

export function writeResults(report: AbuseReport, jsonPath: string, mdPath: string): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(mdPath, markdown(report));
}

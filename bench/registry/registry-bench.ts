/**
 * RegistryIndex benchmark: start-up warm time, memory held, candidates() and get() latency.
 *
 *   node --expose-gc -r ts-node/register/transpile-only bench/registry/registry-bench.ts \
 *     [--projects 1000] [--instances 100] [--memory-only]
 *
 * The headline warm-up is the gateway's own: a child process (seed-database.ts) writes the
 * synthetic rows to a fresh SQLite file, then RegistryLoader.load() reads them back here
 * (keyset pages, entity hydration, toRecord, replaceAll) and lookups are timed on the index it
 * built. The in-memory replaceAll follows as a secondary figure; --memory-only skips the database
 * and makes that the headline.
 *
 * Prints a table and writes bench/results/registry.json. Exits 0 whatever the figures: it reports
 * against the targets, it does not gate (only bad flags exit 2, a run that breaks exits 1).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { InstanceRecord } from '../../src/registry/instance-record';
import { RegistryIndex } from '../../src/registry/registry-index';
import { type DatabasePhase, runDatabasePhase, verifyRoundTrip } from './database-phase';
import { measureLookups } from './lookups';
import { type SyntheticOptions, syntheticInstances } from './synthetic-instances';
import { type Latency, memoryMb, round, roundAll, timeMs, timerOverheadNs } from './timing';

const SEED = 42;
const LOOKUPS = 200_000;
const TARGETS = { warmUpMs: 5_000, rssGrowthMb: 300, lookupP99Us: 50 };

function parseArgs(argv: readonly string[]): { projects: number; perProject: number; memoryOnly: boolean } {
  const read = (flag: string, fallback: number): number => {
    const at = argv.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (at < 0) return fallback;
    const raw = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer, got ${raw}`);
    return value;
  };
  const memoryOnly = argv.includes('--memory-only');
  return { projects: read('--projects', 1_000), perProject: read('--instances', 100), memoryOnly };
}

type Options = ReturnType<typeof parseArgs>;

interface Check {
  readonly name: string;
  readonly target: string;
  readonly pass: boolean;
}

interface DatabaseFigures {
  readonly fileMb: number;
  readonly migrateMs: number;
  readonly insertMs: number;
  readonly connectMs: number;
  readonly warmUpMs: number;
  readonly memoryMb: { rssBefore: number; rssBeforeWarmUp: number; rssAfterWarmUp: number; rssGrowth: number };
  readonly heapGrowthMb: number;
}

interface BenchResult {
  readonly config: { projects: number; perProject: number; records: number; seed: number; lookups: number };
  readonly headline: 'database' | 'memory';
  readonly node: string;
  readonly gcExposed: boolean;
  /** Null with --memory-only. */
  readonly database: DatabaseFigures | null;
  readonly inMemory: {
    readonly warmUpMs: number;
    readonly repeatMs: number;
    /**
     * Null after a database phase: the pages that phase freed are still mapped, so RSS deltas
     * taken after it mean nothing (run --memory-only for these).
     */
    readonly memoryMb: { rssBaseline: number; rssWithInput: number; rssAfterWarmUp: number; rssGrowth: number } | null;
    readonly heapGrowthMb: number;
  };
  readonly timerOverheadNs: number;
  readonly candidates: Latency & { nonEmpty: number; meanReturned: number };
  readonly get: Latency;
  readonly checks: readonly Check[];
}

type Lookups = ReturnType<typeof measureLookups>;

function measureWarmUp(index: RegistryIndex, data: SyntheticOptions) {
  const baseline = memoryMb();
  let records: InstanceRecord[] | null = syntheticInstances(data);
  const withInput = memoryMb();
  const input = records;
  const ms = timeMs(() => index.replaceAll(input));
  // Dropped before measuring: the input rows are garbage once indexed, as database rows are.
  records = null;
  const after = memoryMb();
  return { ms, baseline, withInput, after, size: index.size };
}

function databaseFigures({ memory, ...phase }: DatabasePhase): DatabaseFigures {
  return {
    fileMb: round(phase.fileMb),
    migrateMs: round(phase.migrateMs),
    insertMs: round(phase.insertMs),
    connectMs: round(phase.connectMs),
    warmUpMs: round(phase.warmUpMs),
    memoryMb: {
      rssBefore: round(memory.before.rss),
      rssBeforeWarmUp: round(memory.beforeWarmUp.rss),
      rssAfterWarmUp: round(memory.after.rss),
      rssGrowth: round(memory.after.rss - memory.before.rss),
    },
    heapGrowthMb: round(memory.after.heapUsed - memory.before.heapUsed),
  };
}

/** Its own function so the database-warmed index is unreachable once it returns. */
async function measureDatabase(data: SyntheticOptions): Promise<{ figures: DatabaseFigures; lookups: Lookups }> {
  const phase = await runDatabasePhase(data);
  verifyRoundTrip(phase.index, data);
  return { figures: databaseFigures(phase), lookups: measureLookups(phase.index, data, LOOKUPS) };
}

function checksFor(headline: BenchResult['headline'], warmUpMs: number, rssGrowthMb: number, p99Us: number): Check[] {
  const warmUp = headline === 'database' ? 'warm-up (from database)' : 'warm-up (replaceAll)';
  return [
    { name: warmUp, target: `< ${TARGETS.warmUpMs} ms`, pass: warmUpMs < TARGETS.warmUpMs },
    { name: 'RSS growth', target: `< ${TARGETS.rssGrowthMb} MB`, pass: rssGrowthMb < TARGETS.rssGrowthMb },
    { name: 'candidates() p99', target: `< ${TARGETS.lookupP99Us} µs`, pass: p99Us < TARGETS.lookupP99Us },
  ];
}

function inMemoryFigures(warm: ReturnType<typeof measureWarmUp>, repeatMs: number, withRss: boolean) {
  const rssGrowth = warm.after.rss - warm.baseline.rss;
  const memory = {
    rssBaseline: round(warm.baseline.rss),
    rssWithInput: round(warm.withInput.rss),
    rssAfterWarmUp: round(warm.after.rss),
    rssGrowth: round(rssGrowth),
  };
  const heapGrowthMb = round(warm.after.heapUsed - warm.baseline.heapUsed);
  return { warmUpMs: round(warm.ms), repeatMs: round(repeatMs), memoryMb: withRss ? memory : null, heapGrowthMb };
}

async function measure({ memoryOnly, ...sizes }: Options): Promise<BenchResult> {
  const data = { ...sizes, seed: SEED };
  const database = memoryOnly ? null : await measureDatabase(data);
  // After a database phase this runs on a JIT and a heap that have already seen the work.
  const index = new RegistryIndex();
  const warm = measureWarmUp(index, data);
  const lookups = database?.lookups ?? measureLookups(index, data, LOOKUPS);
  const inMemory = inMemoryFigures(warm, lookups.repeatMs, database === null);
  const { latency: candidateLatency, nonEmpty, meanReturned } = lookups.candidates;
  const headline = database === null ? 'memory' : 'database';
  const db = database?.figures ?? null;
  const warmUpMs = db?.warmUpMs ?? inMemory.warmUpMs;
  const rssGrowthMb = db?.memoryMb.rssGrowth ?? inMemory.memoryMb?.rssGrowth ?? Number.NaN;
  return {
    config: { ...sizes, records: warm.size, seed: SEED, lookups: LOOKUPS },
    headline,
    node: process.version,
    gcExposed: typeof globalThis.gc === 'function',
    database: db,
    inMemory,
    timerOverheadNs: round(timerOverheadNs()),
    candidates: { ...roundAll(candidateLatency), nonEmpty, meanReturned: round(meanReturned) },
    get: roundAll(lookups.get),
    checks: checksFor(headline, warmUpMs, rssGrowthMb, candidateLatency.p99Us),
  };
}

function print(r: BenchResult): void {
  const verdict = (check?: Check): string => (check === undefined ? '' : check.pass ? 'PASS' : 'FAIL');
  const row = (metric: string, value: string, check?: Check): string =>
    `${metric.padEnd(40)}${value.padStart(26)}   ${(check?.target ?? '').padEnd(12)}${verdict(check)}`;
  const [warmCheck, rssCheck, p99Check] = r.checks;
  const { config: c, database: d, inMemory: m } = r;
  const [dbWarm, dbRss] = d === null ? [] : [warmCheck, rssCheck];
  const [memWarm, memRss] = d === null ? [warmCheck, rssCheck] : [];
  console.log(`RegistryIndex — ${c.projects} projects × ${c.perProject} instances = ${c.records} records`);
  console.log(`seed ${c.seed}, ${c.lookups} lookups, node ${r.node}, gc exposed: ${r.gcExposed ? 'yes' : 'NO'}`);
  console.log(`headline: ${r.headline === 'database' ? 'warm-up from a SQLite file' : 'in memory (--memory-only)'}\n`);
  console.log(`${'metric'.padEnd(40)}${'value'.padStart(26)}   ${'target'.padEnd(12)}result`);
  if (d !== null) {
    const rss = d.memoryMb;
    console.log(row('SQLite file / migrate / insert all', `${d.fileMb} MB / ${d.migrateMs} / ${d.insertMs} ms`));
    console.log(row('DataSource initialise (fresh)', `${d.connectMs} ms`));
    console.log(row('warm-up from database (warm())', `${d.warmUpMs} ms`, dbWarm));
    const steps = `${rss.rssBefore} → ${rss.rssBeforeWarmUp} → ${rss.rssAfterWarmUp}`;
    console.log(row('RSS before DB → before warm → warmed', steps));
    console.log(row('RSS growth (database phase)', `${rss.rssGrowth} MB`, dbRss));
    console.log(row('heap growth (database phase)', `${d.heapGrowthMb} MB`));
  }
  const secondary = d === null ? '' : ', secondary';
  console.log(row(`in-memory replaceAll (first run${secondary})`, `${m.warmUpMs} ms`, memWarm));
  console.log(row('replaceAll again (JIT warm)', `${m.repeatMs} ms`));
  const rss = m.memoryMb;
  if (rss === null) console.log(row('in-memory RSS', 'n/a after the DB phase'));
  else {
    const steps = `${rss.rssBaseline} → ${rss.rssWithInput} → ${rss.rssAfterWarmUp}`;
    console.log(row('in-memory RSS before → input → indexed', steps));
    console.log(row('in-memory RSS growth', `${rss.rssGrowth} MB`, memRss));
  }
  console.log(row('in-memory heap growth (retained)', `${m.heapGrowthMb} MB`));
  console.log(row('candidates() p50', `${r.candidates.p50Us} µs`));
  console.log(row('candidates() p99', `${r.candidates.p99Us} µs`, p99Check));
  console.log(row('candidates() max', `${r.candidates.maxUs} µs`));
  console.log(row('candidates() non-empty / mean size', `${r.candidates.nonEmpty} / ${r.candidates.meanReturned}`));
  console.log(row('get(id) p50 / p99', `${r.get.p50Us} / ${r.get.p99Us} µs`));
  console.log(row('get(id) max', `${r.get.maxUs} µs`));
  console.log(row('hrtime overhead (in every sample)', `${r.timerOverheadNs} ns`));
}

async function run(): Promise<void> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(
      `${(error as Error).message}\nusage: registry-bench.ts [--projects N] [--instances M] [--memory-only]`,
    );
    process.exitCode = 2;
    return;
  }
  // Migration and warm-up log lines would interleave with the table; warnings (slow queries) stay.
  Logger.overrideLogger(['warn', 'error']);
  const result = await measure(options);
  print(result);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'registry.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwritten ${join('bench', 'results', 'registry.json')}`);
}

run().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

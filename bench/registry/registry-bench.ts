/**
 * RegistryIndex benchmark: warm-up time, memory held, candidates() and get() latency.
 *
 *   node --expose-gc -r ts-node/register/transpile-only bench/registry/registry-bench.ts \
 *     [--projects 1000] [--instances 100]
 *
 * Prints a table and writes bench/results/registry.json. Exits 0 whatever the figures: it reports
 * against the targets, it does not gate (only bad flags exit 2).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceRecord } from '../../src/registry/instance-record';
import { type CandidateQuery, RegistryIndex } from '../../src/registry/registry-index';
import { mulberry32, syntheticInstances } from './synthetic-instances';

const SEED = 42;
const LOOKUPS = 200_000;
const USERS_PER_PROJECT = 5;
const TARGETS = { warmUpMs: 5_000, rssGrowthMb: 300, lookupP99Us: 50 };
const MB = 1024 * 1024;

interface Latency {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

function parseArgs(argv: readonly string[]): { projects: number; perProject: number } {
  const read = (flag: string, fallback: number): number => {
    const at = argv.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (at < 0) return fallback;
    const raw = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer, got ${raw}`);
    return value;
  };
  return { projects: read('--projects', 1_000), perProject: read('--instances', 100) };
}

/** Collects garbage first when --expose-gc allows, so figures show retained memory only. */
function memoryMb(): { rss: number; heapUsed: number } {
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / MB, heapUsed: heapUsed / MB };
}

function latency(samplesNs: Float64Array): Latency {
  const sorted = samplesNs.slice().sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000;
  return { p50Us: at(0.5), p99Us: at(0.99), maxUs: sorted[sorted.length - 1] / 1000 };
}

function timeMs(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** 45 % by apiIdentifier, 35 % by businessId (some INACTIVE, so empty), 20 % by apiIdentifier + userId. */
function buildQueries(records: readonly InstanceRecord[], count: number): CandidateQuery[] {
  const random = mulberry32(SEED + 1);
  const queries: CandidateQuery[] = [];
  for (let i = 0; i < count; i++) {
    const record = records[Math.floor(random() * records.length)];
    const base = { projectId: record.projectId, apiType: record.apiType };
    const kind = random();
    if (kind < 0.45) queries.push({ ...base, identifier: record.apiIdentifier });
    else if (kind < 0.8) queries.push({ ...base, identifier: record.businessId });
    else {
      const userId = `user-${Math.floor(random() * USERS_PER_PROJECT)}`;
      queries.push({ ...base, identifier: record.apiIdentifier, userId });
    }
  }
  return queries;
}

function timeCandidates(index: RegistryIndex, queries: readonly CandidateQuery[]) {
  const samples = new Float64Array(queries.length);
  let nonEmpty = 0;
  let returned = 0;
  for (let i = 0; i < queries.length; i++) {
    const start = process.hrtime.bigint();
    const result = index.candidates(queries[i]);
    samples[i] = Number(process.hrtime.bigint() - start);
    if (result.length > 0) nonEmpty++;
    returned += result.length;
  }
  return { latency: latency(samples), nonEmpty, meanReturned: returned / queries.length };
}

function timeGets(index: RegistryIndex, ids: readonly string[]): Latency {
  const samples = new Float64Array(ids.length);
  let found = 0;
  for (let i = 0; i < ids.length; i++) {
    const start = process.hrtime.bigint();
    const record = index.get(ids[i]);
    samples[i] = Number(process.hrtime.bigint() - start);
    if (record !== undefined) found++;
  }
  if (found !== ids.length) throw new Error(`get() missed ${ids.length - found} known ids`);
  return latency(samples);
}

/** What two back-to-back hrtime reads cost; every per-call sample includes it. */
function timerOverheadNs(): number {
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const start = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return latency(samples).p50Us * 1000;
}

interface Check {
  readonly name: string;
  readonly target: string;
  readonly pass: boolean;
}

interface BenchResult {
  readonly config: { projects: number; perProject: number; records: number; seed: number; lookups: number };
  readonly node: string;
  readonly gcExposed: boolean;
  readonly warmUp: { ms: number; repeatMs: number };
  readonly memoryMb: { rssBaseline: number; rssWithInput: number; rssAfterWarmUp: number; rssGrowth: number };
  readonly heapGrowthMb: number;
  readonly timerOverheadNs: number;
  readonly candidates: Latency & { nonEmpty: number; meanReturned: number };
  readonly get: Latency;
  readonly checks: readonly Check[];
}

type Options = ReturnType<typeof parseArgs>;

function measureWarmUp(index: RegistryIndex, options: Options) {
  const baseline = memoryMb();
  let records: InstanceRecord[] | null = syntheticInstances({ ...options, seed: SEED });
  const withInput = memoryMb();
  const input = records;
  const ms = timeMs(() => index.replaceAll(input));
  // Dropped before measuring: the input rows are garbage once indexed, as database rows are.
  records = null;
  const after = memoryMb();
  return { ms, baseline, withInput, after, size: index.size };
}

function measureLookups(index: RegistryIndex, options: Options) {
  // Regenerated rather than kept, so queries carry their own string copies, as parsed requests do.
  const records = syntheticInstances({ ...options, seed: SEED });
  const repeatMs = timeMs(() => new RegistryIndex().replaceAll(records));
  const queries = buildQueries(records, LOOKUPS);
  const random = mulberry32(SEED + 2);
  const ids = Array.from({ length: LOOKUPS }, () => records[Math.floor(random() * records.length)].id);
  return { repeatMs, candidates: timeCandidates(index, queries), get: timeGets(index, ids) };
}

function checksFor(warmUpMs: number, rssGrowthMb: number, lookupP99Us: number): Check[] {
  return [
    { name: 'warm-up (replaceAll)', target: `< ${TARGETS.warmUpMs} ms`, pass: warmUpMs < TARGETS.warmUpMs },
    { name: 'RSS growth', target: `< ${TARGETS.rssGrowthMb} MB`, pass: rssGrowthMb < TARGETS.rssGrowthMb },
    { name: 'candidates() p99', target: `< ${TARGETS.lookupP99Us} µs`, pass: lookupP99Us < TARGETS.lookupP99Us },
  ];
}

function measure(options: Options): BenchResult {
  const index = new RegistryIndex();
  const warm = measureWarmUp(index, options);
  const lookups = measureLookups(index, options);
  const rssGrowth = warm.after.rss - warm.baseline.rss;
  const { latency: candidateLatency, nonEmpty, meanReturned } = lookups.candidates;
  return {
    config: { ...options, records: warm.size, seed: SEED, lookups: LOOKUPS },
    node: process.version,
    gcExposed: typeof globalThis.gc === 'function',
    warmUp: { ms: round(warm.ms), repeatMs: round(lookups.repeatMs) },
    memoryMb: {
      rssBaseline: round(warm.baseline.rss),
      rssWithInput: round(warm.withInput.rss),
      rssAfterWarmUp: round(warm.after.rss),
      rssGrowth: round(rssGrowth),
    },
    heapGrowthMb: round(warm.after.heapUsed - warm.baseline.heapUsed),
    timerOverheadNs: round(timerOverheadNs()),
    candidates: { ...roundAll(candidateLatency), nonEmpty, meanReturned: round(meanReturned) },
    get: roundAll(lookups.get),
    checks: checksFor(warm.ms, rssGrowth, candidateLatency.p99Us),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function roundAll(latency: Latency): Latency {
  return { p50Us: round(latency.p50Us), p99Us: round(latency.p99Us), maxUs: round(latency.maxUs) };
}

function print(r: BenchResult): void {
  const verdict = (check?: Check): string => (check === undefined ? '' : check.pass ? 'PASS' : 'FAIL');
  const row = (metric: string, value: string, check?: Check): string =>
    `${metric.padEnd(36)}${value.padStart(16)}   ${(check?.target ?? '').padEnd(12)}${verdict(check)}`;
  const [warmCheck, rssCheck, p99Check] = r.checks;
  const { config: c, memoryMb: m } = r;
  console.log(`RegistryIndex — ${c.projects} projects × ${c.perProject} instances = ${c.records} records`);
  console.log(`seed ${c.seed}, ${c.lookups} lookups, node ${r.node}, gc exposed: ${r.gcExposed ? 'yes' : 'NO'}\n`);
  console.log(`${'metric'.padEnd(36)}${'value'.padStart(16)}   ${'target'.padEnd(12)}result`);
  console.log(row('warm-up (replaceAll, first run)', `${r.warmUp.ms} ms`, warmCheck));
  console.log(row('replaceAll again (JIT warm)', `${r.warmUp.repeatMs} ms`));
  console.log(row('RSS before → with input → indexed', `${m.rssBaseline} → ${m.rssWithInput} → ${m.rssAfterWarmUp}`));
  console.log(row('RSS growth', `${m.rssGrowth} MB`, rssCheck));
  console.log(row('heap growth (retained by index)', `${r.heapGrowthMb} MB`));
  console.log(row('candidates() p50', `${r.candidates.p50Us} µs`));
  console.log(row('candidates() p99', `${r.candidates.p99Us} µs`, p99Check));
  console.log(row('candidates() max', `${r.candidates.maxUs} µs`));
  console.log(row('candidates() non-empty / mean size', `${r.candidates.nonEmpty} / ${r.candidates.meanReturned}`));
  console.log(row('get(id) p50 / p99', `${r.get.p50Us} / ${r.get.p99Us} µs`));
  console.log(row('get(id) max', `${r.get.maxUs} µs`));
  console.log(row('hrtime overhead (in every sample)', `${r.timerOverheadNs} ns`));
}

function run(): void {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: registry-bench.ts [--projects N] [--instances M]`);
    process.exitCode = 2;
    return;
  }
  const result = measure(options);
  print(result);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'registry.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwritten ${join('bench', 'results', 'registry.json')}`);
}

run();

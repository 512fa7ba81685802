/**
 * Selection strategy micro-benchmark: the cost of one `pick` over 100 candidates, per built-in.
 *
 *   node -r ts-node/register/transpile-only bench/strategies/strategy-bench.ts [--picks 200000]
 *
 * Each strategy gets the same 100 candidates with varied stats and params (seeded): some failing,
 * latencies from 5 ms to 3 s, open leases, slow starts, weights, and costs with ties at the
 * cheapest price (so lowest-cost takes its slow path). After a warm-up, picks run in batches of
 * 100 timed with one pair of `process.hrtime.bigint()` reads, so the timer's own cost (~50 ns)
 * does not swamp a sub-microsecond pick; a batch's mean is one sample. Contexts are built once:
 * what is timed is the strategy, not the object the pipeline would allocate anyway.
 *
 * Prints a table and writes bench/results/strategies.json. Exits 0 whatever the figures: it
 * reports against the target (median < 20 µs), it does not gate.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from '../../src/selection/selection-strategy';
import { SELECTION_STRATEGY_METADATA } from '../../src/selection/selection-strategy.decorator';
import { BUILTIN_STRATEGIES } from '../../src/selection/strategies/builtin-strategies';
import { LowestCostStrategy } from '../../src/selection/strategies/lowest-cost.strategy';
import { SmartStrategy } from '../../src/selection/strategies/smart.strategy';
import { candidates, mulberry32, observed } from '../../test/contracts/candidates';

const SEED = 42;
const CANDIDATES = 100;
const BATCH = 100;
const WARM_UP_PICKS = 50_000;
const SETS = 8;
const TARGET_MEDIAN_US = 20;

interface Row {
  readonly strategy: string;
  readonly medianUs: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly pass: boolean;
}

function parsePicks(argv: readonly string[]): number {
  const at = argv.indexOf('--picks');
  if (at < 0) return 200_000;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < BATCH) {
    console.error(`--picks needs an integer ≥ ${BATCH}, got ${argv[at + 1]}`);
    process.exit(2);
  }
  return value;
}

function benchCandidates(): Candidate[] {
  const random = mulberry32(SEED);
  const between = (low: number, high: number): number => Math.floor(low + random() * (high - low + 1));
  return candidates(CANDIDATES, () => {
    const calls = between(0, 500);
    const failures = random() < 0.15 ? Math.floor(calls * random()) : Math.floor(calls * 0.01 * random());
    return {
      stats: {
        ...observed(calls, failures, calls === 0 ? 1000 : 5 + random() * 3000),
        openLeases: between(0, 20),
        slowStartFactor: random() < 0.1 ? 0.1 + random() * 0.9 : 1,
      },
      routingParams: {
        ...(random() < 0.8 ? { weight: between(0, 10) } : {}),
        ...(random() < 0.8 ? { costPerUnit: between(1, 6) / 1000 } : {}),
      },
    };
  });
}

function contexts(random: () => number): SelectionContext[] {
  return Array.from({ length: SETS }, (_, i) => ({
    projectId: 'bench',
    apiType: 'MODEL',
    identifier: `model-${i}`,
    setKey: `bench|MODEL|model-${i}|0`,
    now: Date.UTC(2026, 0, 1),
    random,
  }));
}

function build(type: (typeof BUILTIN_STRATEGIES)[number]): SelectionStrategyHandler {
  return type === LowestCostStrategy ? new LowestCostStrategy(new SmartStrategy()) : new type();
}

/** Mean µs per pick of each batch; `sink` keeps the picks observable so none is optimised away. */
function measure(strategy: SelectionStrategyHandler, list: readonly Candidate[], picks: number): Float64Array {
  const ctxs = contexts(mulberry32(SEED));
  let sink = 0;
  for (let i = 0; i < WARM_UP_PICKS; i++) sink += strategy.pick(list, ctxs[i % SETS]).stats.openLeases;
  const samples = new Float64Array(Math.floor(picks / BATCH));
  for (let b = 0; b < samples.length; b++) {
    const ctx = ctxs[b % SETS];
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) sink += strategy.pick(list, ctx).stats.openLeases;
    samples[b] = Number(process.hrtime.bigint() - start) / 1000 / BATCH;
  }
  if (sink < 0) console.log(sink); // never true; reading sink is the point
  return samples;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

function main(): void {
  const picks = parsePicks(process.argv.slice(2));
  const list = benchCandidates();
  const rows: Row[] = BUILTIN_STRATEGIES.map((type) => {
    const name = Reflect.getMetadata(SELECTION_STRATEGY_METADATA, type) as string;
    const sorted = measure(build(type), list, picks).sort();
    const medianUs = round(quantile(sorted, 0.5));
    const row = {
      strategy: name,
      medianUs,
      p99Us: round(quantile(sorted, 0.99)),
      maxUs: round(sorted[sorted.length - 1]),
    };
    return { ...row, pass: medianUs < TARGET_MEDIAN_US };
  });
  console.log(`Selection strategies — pick() over ${CANDIDATES} candidates, ${picks} picks each`);
  console.log(`(batches of ${BATCH}, ${WARM_UP_PICKS} warm-up picks, seed ${SEED}, node ${process.version})\n`);
  console.log(
    `${'strategy'.padEnd(18)}${'median µs'.padStart(11)}${'p99 µs'.padStart(11)}${'max µs'.padStart(11)}   target     result`,
  );
  for (const r of rows) {
    const figures = [r.medianUs, r.p99Us, r.maxUs].map((v) => v.toFixed(3).padStart(11)).join('');
    console.log(`${r.strategy.padEnd(18)}${figures}   < ${TARGET_MEDIAN_US} µs    ${r.pass ? 'PASS' : 'FAIL'}`);
  }
  const out = join(__dirname, '..', 'results', 'strategies.json');
  mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
  const config = { candidates: CANDIDATES, picks, batch: BATCH, warmUpPicks: WARM_UP_PICKS, sets: SETS, seed: SEED };
  const result = { config, node: process.version, targetMedianUs: TARGET_MEDIAN_US, strategies: rows };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

main();

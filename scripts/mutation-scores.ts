/**
 * The mutation score of each file of the last Stryker run (reports/mutation/mutation.json), as a
 * Markdown table, and a failure when any file is below the threshold (80 % unless given):
 *
 *   node -r ts-node/register/transpile-only scripts/mutation-scores.ts [--min 80] [--report FILE]
 *
 * Score = (killed + timed out) / (killed + timed out + survived + no coverage), as Stryker counts
 * it; mutants that do not compile (the TypeScript checker) or are ignored do not count.
 */
import { readFileSync } from 'node:fs';

interface MutationReport {
  readonly files: Record<string, { readonly mutants: readonly { readonly status: string }[] }>;
}

interface Row {
  readonly path: string;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const min = Number(option('--min', '80'));
const report = JSON.parse(readFileSync(option('--report', 'reports/mutation/mutation.json'), 'utf8')) as MutationReport;

const score = (row: Row): number => {
  const valid = row.killed + row.survived + row.noCoverage;
  return valid === 0 ? 100 : (100 * row.killed) / valid;
};
const pct = (x: number): string => `${x.toFixed(1)} %`;

const rows: Row[] = Object.entries(report.files)
  .map(([path, file]) => {
    const count = (status: string): number => file.mutants.filter((m) => m.status === status).length;
    return {
      path,
      killed: count('Killed') + count('Timeout'),
      survived: count('Survived'),
      noCoverage: count('NoCoverage'),
    };
  })
  .sort((a, b) => a.path.localeCompare(b.path));
const all: Row = rows.reduce(
  (sum, r) => ({
    path: 'all',
    killed: sum.killed + r.killed,
    survived: sum.survived + r.survived,
    noCoverage: sum.noCoverage + r.noCoverage,
  }),
  { path: 'all', killed: 0, survived: 0, noCoverage: 0 },
);

const line = (r: Row, name: string): string =>
  `| ${name} | ${pct(score(r))} | ${r.killed} | ${r.survived} | ${r.noCoverage} |`;
process.stdout.write(
  [
    '| file | score | killed | survived | no coverage |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => line(r, `\`${r.path}\``)),
    line(all, '**all**'),
    '',
  ].join('\n'),
);
const below = rows.filter((r) => score(r) < min);
if (below.length > 0) {
  process.stderr.write(`Below ${min} %: ${below.map((r) => `${r.path} (${pct(score(r))})`).join(', ')}\n`);
  process.exit(1);
}

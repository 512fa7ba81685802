/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `http-bench.ts --cpu-prof <dir>`):
 * self time by function and by area (package under node_modules, the app's dist/, Node internals,
 * GC, idle), inclusive time of the functions matching --match, and the call paths leading to
 * the self time of the functions matching --callers. --last <s> keeps only the final s seconds
 * (http-bench.ts profiles start-up, seeding and warm-up too; the scenario is the end), and
 * --skip-last <s> leaves out the final s of those (the lighter load run after the main one).
 *
 *   node -r ts-node/register/transpile-only bench/http/cpuprofile-summary.ts <file.cpuprofile> \
 *     [--top 30] [--last 10] [--skip-last 0] [--match <regexp>] [--callers <regexp>] [--depth 6]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const DEFAULT_CALL_PATH_DEPTH = 6;

function area(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native/V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const app = /\/dist\/(.+?)\/[^/]+\.js$/.exec(url) ?? /\/dist\/([^/]+)\.js$/.exec(url);
  if (app) return `app: ${app[1]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  return url;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? ` ${url.replace(/^.*?\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'}${where}`;
}

function top(map: Map<string, number>, n: number): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

function main(argv: readonly string[]): void {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const file = argv.find((arg, i) => !arg.startsWith('--') && (i === 0 || !argv[i - 1].startsWith('--')));
  if (!file) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [--top 30] [--last s] [--match re]');
  const n = Number(flag('--top') ?? 30);
  const match = flag('--match') === undefined ? undefined : new RegExp(flag('--match') ?? '');
  const callers = flag('--callers') === undefined ? undefined : new RegExp(flag('--callers') ?? '');
  const lastUs = Number(flag('--last') ?? Infinity) * 1e6;
  const skipLastUs = Number(flag('--skip-last') ?? 0) * 1e6;
  const depth = Number(flag('--depth') ?? DEFAULT_CALL_PATH_DEPTH);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const endUs = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const selfUs = new Map<number, number>();
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    atUs += profile.timeDeltas[i] ?? 0;
    if (endUs - atUs <= lastUs && endUs - atUs >= skipLastUs)
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = [...selfUs.entries()]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((sum, [, us]) => sum + us, 0);
  const busyUs = totalUs - idleUs;

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    byFunction.set(label(node), (byFunction.get(label(node)) ?? 0) + us);
    const key = area(node.callFrame.url, node.callFrame.functionName);
    byArea.set(key, (byArea.get(key) ?? 0) + us);
  }

  const pct = (us: number): string => `${((us / busyUs) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const out: string[] = [
    `${file}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(idleUs / 1e6).toFixed(1)} s idle; ` +
      `percentages are of the ${(busyUs / 1e6).toFixed(1)} s busy`,
    '',
    `Top ${n} functions by self time:`,
    ...top(byFunction, n)
      .filter(([name]) => !name.startsWith('(idle)'))
      .map(([name, us]) => `${ms(us)} ${pct(us)}  ${name}`),
    '',
    'Self time by area:',
    ...top(byArea, n)
      .filter(([name]) => name !== '(idle)')
      .map(([name, us]) => `${ms(us)} ${pct(us)}  ${name}`),
  ];

  if (match) {
    // Inclusive time: a sample counts once for every distinct matching function on its stack.
    const inclusive = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at);
        if (!node) break;
        const name = label(node);
        if (match.test(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + us);
        }
      }
    }
    out.push('', `Inclusive time of functions matching ${match}:`);
    out.push(...top(inclusive, n).map(([name, us]) => `${ms(us)} ${pct(us)}  ${name}`));
  }
  if (callers) {
    const paths = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const node = byId.get(id);
      if (!node || !callers.test(label(node))) continue;
      const path: string[] = [label(node)];
      for (let at = parent.get(id); at !== undefined && path.length <= depth; at = parent.get(at)) {
        const caller = byId.get(at);
        if (caller) path.push(label(caller));
      }
      const key = path.join('\n             <- ');
      paths.set(key, (paths.get(key) ?? 0) + us);
    }
    out.push('', `Call paths to the self time of functions matching ${callers}:`);
    out.push(...top(paths, 10).map(([path, us]) => `${ms(us)} ${pct(us)}  ${path}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main(process.argv.slice(2));

/**
 * How much own work per request a server can add to the bare Fastify route and keep a given share
 * of its throughput, on this machine: the scale the HTTP bench's ratios are read on.
 *
 *   node -r ts-node/register/transpile-only bench/http/floor-curve.ts \
 *     [--work 0,2,4,6,10,20] [--rounds 3] [--duration 10] [--warmup 3] [--connections 50]
 *
 * Starts one bare Fastify child (bare-fastify.ts, the current baseline) per amount of work in
 * microseconds (`BENCH_EXTRA_WORK_NS`: the handler busy-waits that long per request, standing for
 * the server's own work), with the gateway's V8 flags. Each round loads every child in turn
 * (--connections, --duration seconds, after --warmup seconds), the one without work first;
 * a child's ratio is its responses per second over that round's child without work. Prints the
 * median over the rounds per amount of work. Writes nothing.
 *
 * The curve is steeper than the work alone predicts: while the server works, the load generator
 * waits, and each response's socket write then pays for waking it (the `writev` share of a
 * profile grows with the server's own work).
 */
import { BENCH_NODE_FLAGS, type ServerChild, startServer, stopServer } from './children';
import { median } from './report';
import { runLoad } from './scenarios';
import { selectBody } from './seed';
import { childEnv } from './session';
import { join } from 'node:path';

interface Options {
  readonly workUs: readonly number[];
  readonly rounds: number;
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
}

function parseArgs(argv: readonly string[]): Options {
  const raw = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at < 0 ? undefined : argv[at + 1];
  };
  const int = (flag: string, fallback: number): number => {
    const value = Number(raw(flag) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer`);
    return value;
  };
  const workUs = (raw('--work') ?? '0,2,4,6,10,20').split(',').map(Number);
  if (workUs.some((us) => !Number.isFinite(us) || us < 0)) throw new Error('--work takes microseconds ≥ 0');
  return {
    workUs: [0, ...workUs.filter((us) => us > 0)],
    rounds: int('--rounds', 3),
    duration: int('--duration', 10),
    warmup: int('--warmup', 3),
    connections: int('--connections', 50),
  };
}

async function main(options: Options): Promise<void> {
  const children: ServerChild[] = [];
  try {
    for (const us of options.workUs) {
      children.push(
        await startServer({
          name: `bare-fastify +${us} µs`,
          args: [...BENCH_NODE_FLAGS, '-r', 'ts-node/register/transpile-only', join(__dirname, 'bare-fastify.ts')],
          env: childEnv({ BENCH_EXTRA_WORK_NS: String(Math.round(us * 1000)) }),
        }),
      );
    }
    const requests = [
      {
        method: 'POST' as const,
        path: '/select',
        headers: { 'content-type': 'application/json' },
        body: selectBody('model-0'),
      },
    ];
    const rates = options.workUs.map((): number[] => []);
    for (let round = 1; round <= options.rounds; round++) {
      for (const [i, child] of children.entries()) {
        const load = { url: child.url, connections: options.connections };
        process.stderr.write(`[floor-curve] round ${round}/${options.rounds}: +${options.workUs[i]} µs\n`);
        await runLoad('warm-up', requests, { ...load, duration: options.warmup });
        const row = await runLoad('load', requests, { ...load, duration: options.duration });
        if (row.non2xx > 0 || row.errors > 0)
          throw new Error(`${child.name}: ${row.non2xx} non-2xx, ${row.errors} errors`);
        rates[i].push(row.reqPerSec);
      }
    }
    const lines = [
      `bare Fastify with own work per request, ${options.connections} connections, ${options.rounds} rounds of ${options.duration} s (medians)`,
      'own work µs  req/s    × no work (per round)',
      ...options.workUs.map((us, i) => {
        const ratios = rates[i].map((rate, round) => rate / rates[0][round]);
        return `${String(us).padStart(11)}  ${String(Math.round(median(rates[i]))).padStart(7)}  ${median(ratios).toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const child of children) await stopServer(child);
  }
}

main(parseArgs(process.argv.slice(2))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[floor-curve] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

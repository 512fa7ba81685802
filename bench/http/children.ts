/**
 * Child servers for the HTTP benchmark: spawn, wait until they listen, read their RSS, stop them.
 *
 * A server is ready when it printed `Listening on http://…` or, failing that (the gateway logs
 * that line at info level, so LOG_LEVEL=warn hides it), when /proc shows it holding a listening
 * TCP socket; then `readyPath` (if given) must answer 200.
 *
 * A child started with `allocProbe` preloads alloc-probe.ts (transpiled by {@link writeAllocProbe});
 * {@link allocatedBytes} then asks it for the bytes its heap allocated so far.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';

/**
 * The V8 flags the gateway runs with in production (`npm start`, the Dockerfile's CMD; a test holds
 * the three to the same list, ADR 0013). The benches start the gateway and the bare Fastify
 * baselines with them alike, so a ratio measures code, not tuning.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/**
 * The flags the benches start their servers with: {@link SERVER_NODE_FLAGS}, or none with
 * `BENCH_NO_NODE_FLAGS=1` (to measure what the flags are worth, gateway and baselines alike).
 */
export const BENCH_NODE_FLAGS: readonly string[] = process.env.BENCH_NO_NODE_FLAGS === '1' ? [] : SERVER_NODE_FLAGS;

const LISTENING = /Listening on (http:\/\/[^\s)]+)/;
const OUTPUT_KEPT = 64 * 1024;

export interface ServerChild {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** How the address was learnt: the `Listening on` line or /proc. */
  readonly foundBy: 'log' | 'proc';
  /** The last 64 KiB of the child's stdout and stderr. */
  output(): string;
  /** It preloads the allocation probe: {@link allocatedBytes} works on it. */
  readonly allocProbe?: boolean;
}

export interface StartOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly readyPath?: string;
  readonly timeoutMs?: number;
  /** Path of the transpiled probe ({@link writeAllocProbe}), preloaded with `-r` before `args`. */
  readonly allocProbe?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `node <args>` and resolves once it accepts requests. Rejects (and kills it) otherwise. */
export async function startServer(options: StartOptions): Promise<ServerChild> {
  const preload = options.allocProbe ? ['-r', options.allocProbe] : [];
  const proc = spawn(process.execPath, [...preload, ...options.args], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let logged: string | undefined;
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
    logged ??= LISTENING.exec(output)?.[1];
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not spawn node`);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const child = (url: string, foundBy: 'log' | 'proc'): ServerChild => ({
    name: options.name,
    proc,
    pid,
    url: url.replace('://localhost:', '://127.0.0.1:').replace(/\/$/, ''),
    foundBy,
    output: () => output,
    allocProbe: options.allocProbe !== undefined,
  });
  try {
    let found: ServerChild | undefined;
    while (!found) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${options.name} exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${output}`);
      }
      if (Date.now() > deadline) throw new Error(`${options.name} did not listen in time:\n${output}`);
      const port = logged ? undefined : listeningPort(pid);
      if (logged) found = child(logged, 'log');
      else if (port !== undefined) found = child(`http://127.0.0.1:${port}`, 'proc');
      else await sleep(100);
    }
    if (options.readyPath) await waitReady(found, options.readyPath, deadline);
    return found;
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
}

async function waitReady(child: ServerChild, path: string, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${child.url}${path}`);
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${child.name}: ${path} never answered 200 (last: ${last}):\n${child.output()}`);
}

/** The port of a TCP socket in LISTEN state that `pid` holds, from /proc; undefined if none yet. */
export function listeningPort(pid: number): number | undefined {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]);
      } catch {
        // The descriptor closed while we looked.
      }
    }
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // sl local_address rem_address st … inode (field 9); st 0A = LISTEN.
        if (fields.length > 9 && fields[3] === '0A' && inodes.has(fields[9])) {
          return parseInt(fields[1].split(':')[1], 16);
        }
      }
    }
  } catch {
    // /proc entries vanish when the process exits; the caller notices the exit.
  }
  return undefined;
}

/** Resident set size of a live process, in MiB (VmRSS from /proc/<pid>/status). */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

/** User + system CPU time a live process has used so far, in ms (/proc/<pid>/stat; 100 ticks/s). */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** CPU time all processes on the machine have used so far (all cores), and the hypervisor's steal, in ms. */
export function systemCpuMs(): { busy: number; steal: number } | undefined {
  try {
    const jiffies = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = user+nice+system+irq+softirq.
    const [user, nice, system, , , irq, softirq, steal] = jiffies;
    return { busy: (user + nice + system + irq + softirq) * 10, steal: steal * 10 };
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
export async function stopServer(child: ServerChild | undefined, graceMs = 10_000): Promise<void> {
  if (!child) return;
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const ALLOC_LINE = /\[alloc-probe\] (\{[^\n]*\})\n/g;
const ALLOC_DEADLINE_MS = 5_000;
const ALLOC_POLL_MS = 2;

/**
 * Transpiles alloc-probe.ts to plain JavaScript in `dir` and returns its path: the gateway child
 * (`node dist/main.js`) preloads it without ts-node, and a .js file in bench/ would be outside the
 * TypeScript project that eslint checks against.
 */
export function writeAllocProbe(dir: string): string {
  const source = readFileSync(join(__dirname, 'alloc-probe.ts'), 'utf8');
  const { outputText } = transpileModule(source, {
    compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022 },
    fileName: 'alloc-probe.ts',
  });
  const path = join(dir, 'alloc-probe.js');
  writeFileSync(path, outputText);
  return path;
}

/** The probe's last `[alloc-probe] {…}` line in `output`, if any. */
function lastAllocMark(output: string): { mark: number; allocatedBytes: number } | undefined {
  let last: string | undefined;
  for (const match of output.matchAll(ALLOC_LINE)) last = match[1];
  if (last === undefined) return undefined;
  const parsed = JSON.parse(last) as { mark?: unknown; allocatedBytes?: unknown };
  return typeof parsed.mark === 'number' && typeof parsed.allocatedBytes === 'number'
    ? { mark: parsed.mark, allocatedBytes: parsed.allocatedBytes }
    : undefined;
}

/**
 * The bytes the child's V8 heap has allocated since it started: sends SIGUSR2 to its probe and
 * polls its output until a line with a newer mark than the last one seen shows up (the child
 * answers within milliseconds once idle; a deadline, not a fixed sleep, bounds the wait).
 * Throws if the child has no probe, exits, or does not answer in time.
 */
export async function allocatedBytes(child: ServerChild, deadlineMs = ALLOC_DEADLINE_MS): Promise<number> {
  if (!child.allocProbe) throw new Error(`${child.name} was started without the allocation probe`);
  const previous = lastAllocMark(child.output())?.mark ?? 0;
  child.proc.kill('SIGUSR2');
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const mark = lastAllocMark(child.output());
    if (mark && mark.mark > previous) return mark.allocatedBytes;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${child.name} exited before its allocation probe answered`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.name}: no [alloc-probe] line within ${deadlineMs} ms:\n${child.output().slice(-2000)}`);
    }
    await sleep(ALLOC_POLL_MS);
  }
}

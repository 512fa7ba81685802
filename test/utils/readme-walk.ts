import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * The README walk: every ```bash block of README.md, in order, as one shell session of a reader
 * on a fresh clone. The rules a reader follows without thinking, made explicit:
 *
 * - A line that runs `npm start` is a server the reader leaves running in its own terminal: the
 *   walk starts it in the background and waits for its readiness (`/api/health/ready`) before the
 *   next line. A block that starts servers first stops the ones earlier blocks started (the
 *   reader's Ctrl-C). Every server is stopped (SIGTERM) at the end.
 * - `curl` fails on an HTTP error (`--fail-with-body`): an example that answers 4xx/5xx fails the walk.
 * - Ports 8081 and 8082 become free ports, so the walk runs beside other gateways.
 * - `npm ci` runs for real in `install: 'npm-ci'` mode (CI's fresh clone); in `install: 'link'`
 *   mode (the Jest test) it links the project's node_modules instead — the build (`npm start`'s
 *   prestart) still runs in the clone.
 * - `npm test` is not run by the walk: it is CI's own step (and would run this test again).
 * - The cluster example's `DATABASE_URL=mysql://…` and `REDIS_URL=redis://…` point at the test
 *   servers (`TEST_DATABASE_URL`, with a fresh schema, and `TEST_REDIS_URL`); without them that
 *   block is skipped, with its reason. Blocks running `docker` are skipped unless
 *   `WALK_DOCKER=true` (the compose file is checked by test/docker-compose.spec.ts).
 */

/** A fenced ```bash block of the README: its text and the line it starts on (1-based). */
export interface ReadmeBlock {
  readonly line: number;
  readonly text: string;
}

/** Every fenced block whose info string is exactly `bash`, in order. */
export function bashBlocks(readme: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i += 1) body.push(lines[i]);
    if (open[2] === 'bash') blocks.push({ line: start + 1, text: body.join('\n') });
  }
  return blocks;
}

/** Every fence info string used in the README (to prove no shell example escapes the walk). */
export function fenceLanguages(readme: string): string[] {
  const found: string[] = [];
  let inside = false;
  for (const line of readme.split('\n')) {
    const fence = /^\s*```(\S*)\s*$/.exec(line);
    if (!fence) continue;
    if (!inside) found.push(fence[1]);
    inside = !inside;
  }
  return found;
}

export interface WalkSettings {
  /** The clone the walk runs in (the reader's working directory). */
  readonly dir: string;
  readonly install: 'npm-ci' | 'link';
  /** With `install: 'link'`: the node_modules to link. */
  readonly nodeModules?: string;
  /** The README's 8081 and 8082. */
  readonly ports: readonly [number, number];
  /** For the cluster example: a MySQL URL with a database of its own, and a Redis URL. */
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  readonly docker?: boolean;
}

export interface WalkPlan {
  readonly script: string;
  readonly walked: ReadmeBlock[];
  readonly skipped: { readonly block: ReadmeBlock; readonly reason: string }[];
}

const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

const PRELUDE = `set -euo pipefail
WALK_PIDS=()
curl() { local rc=0; command curl --fail-with-body --show-error --max-time 30 "$@" || rc=$?; echo; return "$rc"; }
walk_stop() {
  local pid
  for pid in "\${WALK_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "\${WALK_PIDS[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  WALK_PIDS=()
}
trap walk_stop EXIT
walk_ready() {
  local port=$1 pid=$2 log=$3
  for _ in $(seq 1 1800); do
    if command curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "the server of $log exited:"; cat "$log"; return 1; fi
    sleep 0.1
  done
  echo "the server of $log was not ready within 180 s:"; cat "$log"; return 1
}
`;

/** The shell script of the walk, and which blocks it leaves out (with why). */
export function planWalk(readme: string, settings: WalkSettings): WalkPlan {
  const walked: ReadmeBlock[] = [];
  const skipped: { block: ReadmeBlock; reason: string }[] = [];
  const parts: string[] = [PRELUDE, `cd ${quote(settings.dir)}`, 'mkdir -p walk-logs'];
  let servers = 0;
  for (const block of bashBlocks(readme)) {
    const text = block.text
      .replace(/\b8081\b/g, String(settings.ports[0]))
      .replace(/\b8082\b/g, String(settings.ports[1]));
    if (/(^|\s)docker\s/m.test(text) && !settings.docker) {
      skipped.push({ block, reason: 'runs docker (set WALK_DOCKER=true where a Docker daemon runs)' });
      continue;
    }
    const needsMysql = /DATABASE_URL=mysql:\/\//.test(text);
    const needsRedis = /REDIS_URL=redis:\/\//.test(text);
    if ((needsMysql && !settings.databaseUrl) || (needsRedis && !settings.redisUrl)) {
      skipped.push({ block, reason: 'needs MySQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)' });
      continue;
    }
    walked.push(block);
    parts.push(`\nset +v\necho ${quote(`### README.md line ${block.line}`)}\nset -v`);
    let stoppedBefore = false;
    // The block as written (bash reads it; set -v echoes it), except the lines the rules above
    // change: each is a single-line command.
    for (const original of text.split('\n')) {
      let line = original;
      if (settings.databaseUrl)
        line = line.replace(/DATABASE_URL=mysql:\/\/\S+/g, `DATABASE_URL=${settings.databaseUrl}`);
      if (settings.redisUrl) line = line.replace(/REDIS_URL=redis:\/\/\S+/g, `REDIS_URL=${settings.redisUrl}`);
      const command = line.replace(/\s+#.*$/, '').trim();
      if (/^npm ci\b/.test(command) && settings.install === 'link') {
        parts.push(
          `ln -sfn ${quote(settings.nodeModules ?? '')} node_modules  # the walk links node_modules instead of: ${command}`,
        );
        continue;
      }
      if (settings.install === 'link' && /\bnpm (ci|i|install|uninstall|prune|update|dedupe|rebuild)\b/.test(command)) {
        // It would write into the linked node_modules: the project's own.
        throw new Error(`README.md line ${block.line}: the walk cannot run "${command}" with linked node_modules`);
      }
      if (/^npm test\b/.test(command)) {
        parts.push(`# not run by the walk (CI's own step): ${command}`);
        continue;
      }
      if (/(^|\s)npm start\b/.test(command)) {
        if (!stoppedBefore) parts.push('walk_stop');
        stoppedBefore = true;
        servers += 1;
        const port = /\bPORT=(\d+)/.exec(command)?.[1] ?? String(settings.ports[0]);
        // The README's default port (8081) is the walk's first port.
        const run = /\bPORT=\d+/.test(command) ? command : `PORT=${port} ${command}`;
        const file = `walk-logs/server-${servers}.sh`;
        const log = `walk-logs/server-${servers}.log`;
        parts.push(`# in the background, like a second terminal: ${run}`);
        parts.push(`printf '%s\\n' ${quote(run)} > ${file}`);
        parts.push(`setsid bash ${file} > ${log} 2>&1 &`);
        parts.push('WALK_PIDS+=("$!")');
        parts.push(`walk_ready ${port} "$!" ${log}`);
        continue;
      }
      parts.push(line);
    }
  }
  parts.push('\nset +v', 'walk_stop', "echo '### the README walk passed'");
  return { script: `${parts.join('\n')}\n`, walked, skipped };
}

/** A free TCP port on 127.0.0.1 (the walk's stand-ins for 8081 and 8082). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A clone-like copy of the project at `source`: the files git tracks and the new ones it would
 * (not what .gitignore leaves out: no node_modules, no dist, no data).
 */
export function copyProject(source: string, target: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: source,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .split('\0')
    .filter((file) => file !== '');
  for (const file of files) {
    // Never node_modules (a symlink to it is not ignored by `node_modules/`): the walk links its own.
    if (file === 'node_modules' || file.startsWith('node_modules/')) continue;
    const from = join(source, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(from, join(target, file), { dereference: false });
  }
}

export interface WalkResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs the walk's script with bash; the environment is the reader's (no test variables). */
export function runWalk(
  plan: WalkPlan,
  dir: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<WalkResult> {
  const scriptFile = join(dir, 'walk-logs', 'walk.sh');
  mkdirSync(dirname(scriptFile), { recursive: true });
  writeFileSync(scriptFile, plan.script);
  return new Promise((resolve) => {
    const child = spawn('bash', [scriptFile], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n(the walk took longer than ${timeoutMs} ms and was stopped)\n`;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The environment of a reader's shell: PATH and HOME, none of the test's variables. */
export function readerEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
    ...extra,
  };
}

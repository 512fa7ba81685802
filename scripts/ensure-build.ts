/**
 * `npm start`'s (and `npm run admin`'s) pre-step: builds the app when `dist/main.js` is missing or
 * older than any file it is built from (everything under `src/`, the package and TypeScript/Nest
 * configuration), so a `git pull` followed by `npm start` never serves the previous build.
 * Compares modification times only: no dependency, a few milliseconds when nothing changed.
 *
 * Run with: node -r ts-node/register/transpile-only scripts/ensure-build.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What the build reads, relative to the project root (folders are walked). */
export const BUILD_INPUTS: readonly string[] = [
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
];

/** The file the build writes last-ish and `npm start` runs. */
export const BUILD_OUTPUT = 'dist/main.js';

/** The newest modification time (ms) of the files under `path`, with the file that has it. */
function newest(path: string): { mtimeMs: number; file: string } | undefined {
  if (!existsSync(path)) return undefined;
  const stat = statSync(path);
  if (!stat.isDirectory()) return { mtimeMs: stat.mtimeMs, file: path };
  let best: { mtimeMs: number; file: string } | undefined;
  for (const entry of readdirSync(path)) {
    const found = newest(join(path, entry));
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}

/** Why the build is stale (the first input newer than the output), or undefined when it is current. */
export function staleReason(root: string): string | undefined {
  const output = join(root, BUILD_OUTPUT);
  if (!existsSync(output)) return `${BUILD_OUTPUT} does not exist`;
  const built = statSync(output).mtimeMs;
  for (const input of BUILD_INPUTS) {
    const found = newest(join(root, input));
    if (found && found.mtimeMs > built) return `${found.file.slice(root.length + 1)} is newer than ${BUILD_OUTPUT}`;
  }
  return undefined;
}

function main(): void {
  const root = resolve(__dirname, '..');
  const reason = staleReason(root);
  if (reason === undefined) return;
  process.stderr.write(`Building the gateway: ${reason}\n`);
  const build = spawnSync('npm', ['run', 'build'], {
    cwd: root,
    // The build's output goes to stderr: standard output stays the command's own (e.g. a generated password).
    stdio: ['inherit', 2, 'inherit'],
    shell: process.platform === 'win32',
  });
  if (build.status !== 0) {
    process.stderr.write('The build failed; fix the errors above (or run `npm ci` if dependencies are missing)\n');
    process.exit(build.status ?? 1);
  }
}

if (require.main === module) main();

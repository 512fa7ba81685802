/**
 * The README walk on a fresh clone, with a real `npm ci` (by hand, ~4 minutes; the Jest test
 * test/readme-walk.e2e-spec.ts walks a copy with linked node_modules instead). Clones the
 * repository's committed HEAD into a temporary folder, runs every ```bash example of its
 * README.md in order (rules in test/utils/readme-walk.ts) and exits non-zero at the first that
 * fails. The two-node example runs on `TEST_DATABASE_URL` (a fresh schema, dropped afterwards)
 * and `TEST_REDIS_URL`; without them it is skipped, and under `CI=true` that is a failure.
 *
 * Run with: node -r ts-node/register/transpile-only scripts/readme-walk.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mysqlAdmin } from '../bench/cluster/cluster';
import { freePort, planWalk, readerEnvironment, runWalk } from '../test/utils/readme-walk';

async function main(): Promise<number> {
  const root = resolve(__dirname, '..');
  const base = mkdtempSync(join(tmpdir(), 'readme-walk-clone-'));
  const dir = join(base, 'api-premium-gateway');
  const mysql = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  const schema = `readme_walk_${randomBytes(4).toString('hex')}`;
  try {
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, dir], { stdio: 'inherit' });
    // `npm ci` empties node_modules first: were it a committed symlink, it would empty its target.
    if (existsSync(join(dir, 'node_modules')) || lstatExists(join(dir, 'node_modules'))) {
      process.stderr.write('The clone has a node_modules (a committed symlink?): not running npm ci in it\n');
      return 1;
    }
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    let databaseUrl: string | undefined;
    if (mysql && redisUrl) {
      const url = new URL(mysql);
      url.pathname = `/${schema}`;
      databaseUrl = url.toString();
    }
    const plan = planWalk(readme, {
      dir,
      install: 'npm-ci',
      ports: [await freePort(), await freePort()],
      databaseUrl,
      redisUrl: databaseUrl ? redisUrl : undefined,
      docker: process.env.WALK_DOCKER === 'true',
    });
    for (const { block, reason } of plan.skipped) {
      process.stderr.write(`README.md line ${block.line} is not walked: ${reason}\n`);
      if (process.env.CI === 'true' && !reason.includes('docker')) return 1;
    }
    const env = readerEnvironment({ GATEWAY_REDIS_PREFIX: `readme-walk-${randomBytes(4).toString('hex')}:` });
    const result = await runWalk(plan, dir, env, 900_000);
    process.stdout.write(result.output);
    return result.code === 0 ? 0 : 1;
  } finally {
    if (mysql) await mysqlAdmin(mysql, `DROP DATABASE IF EXISTS \`${schema}\``).catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`The README walk could not run: ${String(error)}\n`);
    process.exit(1);
  },
);

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlAdmin } from '../bench/cluster/cluster';
import {
  bashBlocks,
  copyProject,
  fenceLanguages,
  freePort,
  planWalk,
  readerEnvironment,
  runWalk,
} from './utils/readme-walk';

/**
 * The README walk (rules in test/utils/readme-walk.ts): every ```bash example of README.md, in
 * order, on a fresh copy of the project — the files git would clone, no node_modules (linked
 * instead of `npm ci`: CI's own first step is that `npm ci` on a clean clone, and
 * scripts/readme-walk.ts walks a fresh clone with a real one by hand), no build, no database — in
 * a shell with none of the test's variables. `npm start`
 * builds the copy, the examples run against it, and the first example that answers an HTTP error
 * or fails stops the walk with the transcript.
 */
const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README.md', () => {
  it('has its shell examples in ```bash blocks, which the walk runs', () => {
    const shells = fenceLanguages(README).filter((language) => /^(sh|shell|console|zsh|terminal)$/.test(language));
    expect(shells).toEqual([]);
    expect(bashBlocks(README).length).toBeGreaterThanOrEqual(6);
  });

  it('names the routes as they are: /metrics, not /api/metrics; no monitoring timeRange on overview', () => {
    expect(README).not.toContain('/api/metrics');
    expect(README).not.toMatch(/monitoring\/overview\?timeRange/);
    expect(README).not.toMatch(/KEY=default-api-key/);
  });
});

describe('the README walk, on a fresh copy of the project', () => {
  let dir: string;
  let schema: string | undefined;

  afterAll(async () => {
    if (schema) await mysqlAdmin(process.env.TEST_DATABASE_URL!, `DROP DATABASE IF EXISTS \`${schema}\``);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every example in order and each one succeeds', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readme-walk-'));
    copyProject(ROOT, dir);
    const mysqlBase = process.env.TEST_DATABASE_URL;
    const redisUrl = process.env.TEST_REDIS_URL;
    let databaseUrl: string | undefined;
    if (mysqlBase) {
      schema = `readme_walk_${randomBytes(4).toString('hex')}`;
      const url = new URL(mysqlBase);
      url.pathname = `/${schema}`;
      databaseUrl = url.toString();
    }
    const plan = planWalk(README, {
      dir,
      install: 'link',
      nodeModules: join(ROOT, 'node_modules'),
      ports: [await freePort(), await freePort()],
      databaseUrl: mysqlBase && redisUrl ? databaseUrl : undefined,
      redisUrl: mysqlBase && redisUrl ? redisUrl : undefined,
      docker: process.env.WALK_DOCKER === 'true',
    });
    for (const { block, reason } of plan.skipped) {
      if (process.env.CI === 'true' && !reason.includes('docker')) {
        throw new Error(`README.md line ${block.line}: ${reason}`);
      }
      console.warn(`The README walk skips the block at README.md line ${block.line}: ${reason}`);
    }
    const env = readerEnvironment({ GATEWAY_REDIS_PREFIX: `readme-walk-${randomBytes(4).toString('hex')}:` });
    const result = await runWalk(plan, dir, env, 420_000);
    if (result.code !== 0)
      throw new Error(`The README walk failed (exit ${result.code}):\n${result.output.slice(-20_000)}`);
    expect(result.output).toContain('### the README walk passed');

    // The first server's log: `npm start` built the fresh copy itself (its prestart), then served
    // it; the start-up log gives the address a reader can click and the URLs that exist, no route dump.
    const log = readFileSync(join(dir, 'walk-logs', 'server-1.log'), 'utf8');
    expect(log).toContain('Building the gateway: dist/main.js does not exist');
    const port = /Listening on http:\/\/localhost:(\d+) \(bound to 0\.0\.0\.0:\1, every interface/.exec(log)?.[1];
    expect(port).toBeDefined();
    expect(log).toContain(`Dashboard http://localhost:${port}/api/dashboard`);
    expect(log).toContain(`Swagger UI http://localhost:${port}/api/docs`);
    expect(log).toContain(`Prometheus http://localhost:${port}/metrics`);
    expect(log).not.toContain('Mapped {');
    expect(log).not.toContain('/api/metrics');
    expect(log).not.toContain('"level":50');
  }, 480_000);
});

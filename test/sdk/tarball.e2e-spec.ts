import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LocalServer, json, listen } from '../../libs/sdk/src/testing/servers';
import { type Run, listeningUrl, startGateway } from '../utils/gateway-process';

const execFileAsync = promisify(execFile);

/** Runs a command; a failure says what it printed (tsc prints its errors on stdout). */
async function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    return await execFileAsync(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}
const ROOT = join(__dirname, '..', '..');
const CALLS = 20;
const API_KEY = 'sdk-tarball-test-key-0123456789';

/** The environment of child npm/node processes: ours without npm's per-run variables (`npm test` sets them). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, ...extra };
}

/** What a user writes after `npm install @api-premium-gateway/sdk`: compiled with tsc --strict. */
const PROGRAM = `
import { GatewayCallError, GatewayClient, type SelectedInstance } from '@api-premium-gateway/sdk';

async function main(): Promise<void> {
  const gw = new GatewayClient({
    baseUrl: process.env.GATEWAY_URL as string,
    apiKey: process.env.GATEWAY_API_KEY as string,
    reports: { intervalMs: 50 },
  });
  const synced = await gw.sync([
    { apiIdentifier: 'echo', businessId: 'failing', endpoint: process.env.FAILING_URL as string },
    { apiIdentifier: 'echo', businessId: 'healthy', endpoint: process.env.HEALTHY_URL as string },
  ]);
  let ok = 0;
  const failures: string[] = [];
  for (let n = 0; n < Number(process.env.CALLS); n++) {
    try {
      const res = await gw.call(
        'echo',
        (instance: SelectedInstance, { signal }) => fetch(\`\${instance.endpoint}/echo?n=\${n}\`, { signal }),
        { strategy: 'round-robin' },
      );
      const body = (await res.json()) as { n: number };
      if (body.n === n) ok++;
    } catch (error) {
      failures.push(error instanceof GatewayCallError ? error.message : String(error));
    }
  }
  await gw.close();
  const ids = Object.fromEntries(synced.instances.map((i) => [i.businessId, i.id]));
  console.log(JSON.stringify({ ok, failures, ids, stats: gw.stats() }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

interface ProgramOutput {
  readonly ok: number;
  readonly failures: string[];
  readonly ids: Record<string, string>;
  readonly stats: { attempts: number; reports: { sent: number; counted: number; dropped: number; rejected: number } };
}

/** The SDK's package as the repository holds it, copied to `<repo>/libs/sdk`; answers that folder. */
function stageSdk(repo: string): string {
  const sdk = join(repo, 'libs', 'sdk');
  mkdirSync(sdk, { recursive: true });
  for (const entry of ['package.json', 'README.md', 'tsconfig.build.json', 'src']) {
    cpSync(join(ROOT, 'libs', 'sdk', entry), join(sdk, entry), { recursive: true });
  }
  return sdk;
}

describe('the packed SDK, installed into a scratch project', () => {
  let scratch: string;
  let gateway: Run | undefined;
  const backends: LocalServer[] = [];

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sdk-scratch-'));
  });
  afterAll(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    await Promise.all(backends.map((backend) => backend.close()));
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * Copies the SDK's sources into a scratch repository (its `node_modules` is the real one) and
   * runs `npm pack` there, as `npm pack ./libs/sdk` does in place: the package's `prepack` builds
   * dist/. Then installs the tarball and compiles the program strictly.
   */
  async function installAndCompile(): Promise<void> {
    const repo = join(scratch, 'repo');
    const packs = join(scratch, 'packs');
    const app = join(scratch, 'app');
    for (const dir of [repo, packs, app]) mkdirSync(dir);
    const sdk = stageSdk(repo);
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
    await run('npm', ['pack', sdk, '--pack-destination', packs], { cwd: scratch, env: childEnv() });
    const [tarball] = readdirSync(packs).filter((file) => file.endsWith('.tgz'));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
    await run('npm', ['install', join(packs, tarball), '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      env: childEnv(),
    });
    writeFileSync(join(app, 'program.ts'), PROGRAM);
    // Strict, against the package's own declarations (no skipLibCheck); Node's types from the repo.
    await run(
      process.execPath,
      [
        tsc,
        '--strict',
        '--target',
        'ES2022',
        '--module',
        'commonjs',
        '--moduleResolution',
        'node',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        '--outDir',
        'out',
        'program.ts',
      ],
      { cwd: app, env: childEnv() },
    );
  }

  /** A real gateway process on a fresh in-memory database, its bootstrap key bound to a project. */
  async function startLiveGateway(): Promise<string> {
    gateway = startGateway({
      PORT: '0',
      HOST: '127.0.0.1',
      GATEWAY_SQLITE_PATH: ':memory:',
      GATEWAY_ADMIN_PASSWORD: 'admin-test-password',
      GATEWAY_BOOTSTRAP_API_KEYS: API_KEY,
    });
    const url = await listeningUrl(gateway);
    const bound = await fetch(`${url}/api/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'tarball', description: 'the tarball test', apiKey: API_KEY }),
    });
    expect(bound.status).toBe(200);
    return url;
  }

  it('says why when packed outside the repository (no TypeScript to build with)', async () => {
    const lonely = stageSdk(join(scratch, 'elsewhere'));
    const error = (await run('npm', ['pack', lonely, '--dry-run'], { cwd: scratch, env: childEnv() }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('packing builds dist/ with the TypeScript of the gateway repository');
  });

  it('runs a strictly compiled program against a live gateway: every call succeeds, the failing instance is cut off, every attempt is reported once', async () => {
    const failing = await listen((_request, res) => json(res, 503, { error: 'overloaded' }));
    const healthy = await listen((request, res) =>
      json(res, 200, { n: Number(new URL(request.url, 'http://x').searchParams.get('n')) }),
    );
    backends.push(failing, healthy);
    const [url] = await Promise.all([startLiveGateway(), installAndCompile()]);

    const { stdout, stderr } = await run(process.execPath, [join(scratch, 'app', 'out', 'program.js')], {
      cwd: join(scratch, 'app'),
      env: childEnv({
        GATEWAY_URL: url,
        GATEWAY_API_KEY: API_KEY,
        FAILING_URL: failing.url,
        HEALTHY_URL: healthy.url,
        CALLS: String(CALLS),
      }),
    });
    expect(stderr).toBe('');
    const output = JSON.parse(stdout) as ProgramOutput;
    expect(output.failures).toEqual([]);
    expect(output.ok).toBe(CALLS);

    // Every call ended on the healthy backend; the failing one was tried until its breaker opened.
    const attempts = failing.requests.length + healthy.requests.length;
    expect(healthy.requests).toHaveLength(CALLS);
    expect(failing.requests.length).toBeGreaterThanOrEqual(5);
    expect(output.stats.attempts).toBe(attempts);

    const health = async (id: string) => {
      const res = await fetch(`${url}/api/instances/${id}/health`, { headers: { 'api-key': API_KEY } });
      return (
        (await res.json()) as {
          data: { breaker: { state: string }; window: { calls: number; byOutcome: Record<string, number> } };
        }
      ).data;
    };
    const [bad, good] = await Promise.all([health(output.ids.failing), health(output.ids.healthy)]);
    expect(bad.breaker.state).toBe('OPEN');
    // Each attempt reported exactly once: the gateway counted what each backend received.
    expect(bad.window).toMatchObject({
      calls: failing.requests.length,
      byOutcome: { SERVER_ERROR: failing.requests.length },
    });
    expect(good.window).toMatchObject({ calls: CALLS, byOutcome: { SUCCESS: CALLS } });
    expect(output.stats.reports).toMatchObject({ sent: attempts, counted: attempts, dropped: 0, rejected: 0 });
  }, 60_000);
});

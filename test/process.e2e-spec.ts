import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { Public } from '../src/auth/auth.decorators';
import { Enveloped } from '../src/common/envelope.interceptor';
import { type Run, listeningUrl, outputContains, runAdminCommand, startGateway } from './utils/gateway-process';
import { mysqlDatabase } from './utils/test-database';
import { describeWhenAvailable } from './utils/requirements';
import { createTestApp } from './utils/test-app';

describe('the gateway process', () => {
  it('refuses a bad DATABASE_URL with one clear line naming it', async () => {
    const run = startGateway({ DATABASE_URL: 'nonsense' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('DATABASE_URL');
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('reports an unreachable MySQL clearly, without a stack trace', async () => {
    const run = startGateway({ DATABASE_URL: 'mysql://gateway:secret@127.0.0.1:1/gateway' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('Cannot connect to the database at mysql://gateway@127.0.0.1:1/gateway');
    expect(run.output()).not.toContain('secret');
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('serves /api/health on a fresh SQLite file, then exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-'));
    const sqlite = join(dir, 'nested', 'gateway.sqlite');
    try {
      const run = startGateway({ PORT: '0', HOST: '127.0.0.1', GATEWAY_SQLITE_PATH: sqlite });
      const url = await listeningUrl(run);
      const res = await fetch(`${url}/api/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ code: 200, data: { status: 'UP' } });
      expect(existsSync(sqlite)).toBe(true);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A route that answers only when the test releases it: a request held in flight. */
const gate: { release?: () => void; entered?: () => void } = {};

@Public()
@Enveloped()
@Controller('test-only')
class SlowController {
  @Get('slow')
  async slow(): Promise<{ done: boolean }> {
    gate.entered?.();
    await new Promise<void>((resolve) => (gate.release = resolve));
    return { done: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

describe('graceful shutdown', () => {
  it('lets an in-flight request complete before the app finishes closing', async () => {
    const gateway = await createTestApp({ extra: { imports: [SlowModule] } });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const url = (await gateway.app.getUrl()).replace('[::1]', '127.0.0.1');

    const entered = new Promise<void>((resolve) => (gate.entered = resolve));
    const inFlight = fetch(`${url}/api/test-only/slow`);
    await entered;

    let closed = false;
    const closing = gateway.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);

    gate.release?.();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 200, data: { done: true } });
    await closing;
    expect(closed).toBe(true);
  });
});

/** Stops a gateway process and waits for its exit code. */
async function stop(run: Run): Promise<number | null> {
  run.child.kill('SIGTERM');
  const code = await run.exited;
  if (code !== 0) console.error(`exit ${code}:\n${run.output()}`);
  return code;
}

const login = (url: string, password: string, username = 'admin'): Promise<Response> =>
  fetch(`${url}/api/admin/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

describe('the newcomer path: first start, an ignored GATEWAY_ADMIN_PASSWORD, npm run admin', () => {
  let dir: string;
  let sqlite: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-newcomer-'));
    sqlite = join(dir, 'gateway.sqlite');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says where it listens and what to open, prints the generated password apart from the log, no route dump', async () => {
    const run = startGateway({ PORT: '0', GATEWAY_SQLITE_PATH: sqlite });
    try {
      const url = await listeningUrl(run);
      const port = new URL(url).port;
      await outputContains(run, 'Readiness http://');
      // Bound to every interface (HOST's default): the real address, and a URL to click.
      expect(run.stdout()).toContain(
        `Listening on http://localhost:${port} (bound to 0.0.0.0:${port}, every interface; database: sqlite ${sqlite})`,
      );
      expect(run.stdout()).toContain(`Dashboard http://localhost:${port}/api/dashboard`);
      expect(run.stdout()).toContain(`Swagger UI http://localhost:${port}/api/docs`);
      expect(run.stdout()).toContain(`Prometheus http://localhost:${port}/metrics`);
      expect(run.stdout()).not.toContain('/api/metrics');
      expect(run.stdout()).not.toContain('Mapped {');
      expect(run.stdout()).not.toContain('dependencies initialized');
      // Every stdout line is a JSON log line; the password is on stderr, in its banner, once.
      const lines = run
        .stdout()
        .split('\n')
        .filter((line) => line.trim() !== '');
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
      const password = /^ {3}password: (\S+)$/m.exec(run.stderr())?.[1];
      expect(password).toBeDefined();
      expect(run.stdout()).not.toContain(password);
      expect(run.stderr()).toContain('npm run admin -- reset-password');
      expect((await login(url, password!)).status).toBe(200);
    } finally {
      expect(await stop(run)).toBe(0);
    }
  }, 60_000);

  it('warns that a GATEWAY_ADMIN_PASSWORD set later is ignored, and `admin reset-password --from-env` applies it', async () => {
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      GATEWAY_SQLITE_PATH: sqlite,
      GATEWAY_ADMIN_PASSWORD: 'chosen-after-the-fact',
    };
    const second = startGateway(env);
    try {
      const url = await listeningUrl(second);
      const warning = second
        .stdout()
        .split('\n')
        .filter((line) => line.includes('GATEWAY_ADMIN_PASSWORD'))
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(warning).toHaveLength(1);
      expect(warning[0].level).toBe(40);
      expect(warning[0].msg).toContain('is ignored');
      expect(warning[0].msg).toContain('npm run admin -- reset-password --from-env');
      expect(second.output()).not.toContain('chosen-after-the-fact');
      expect((await login(url, 'chosen-after-the-fact')).status).toBe(401);

      // Run beside the gateway, on the same SQLite file: the password works at once, nothing secret printed.
      const reset = await runAdminCommand(['reset-password', '--from-env'], env);
      expect(reset).toMatchObject({ code: 0, stdout: '' });
      expect(reset.stderr).toContain("Reset the password of 'admin'");
      expect(reset.stderr).not.toContain('chosen-after-the-fact');
      expect((await login(url, 'chosen-after-the-fact')).status).toBe(200);
    } finally {
      expect(await stop(second)).toBe(0);
    }
    const third = startGateway(env);
    try {
      await listeningUrl(third);
      expect(third.output()).not.toContain('GATEWAY_ADMIN_PASSWORD');
    } finally {
      expect(await stop(third)).toBe(0);
    }
  }, 90_000);

  it('`admin reset-password` generates a password and prints only it; reads one from stdin; refuses what it cannot do', async () => {
    const env = { GATEWAY_SQLITE_PATH: sqlite };
    const generated = await runAdminCommand(['reset-password'], env);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^[A-Za-z0-9_-]{24}\n$/);
    expect(generated.stderr).toContain('generated password');

    const fromStdin = await runAdminCommand(['reset-password', '--password-stdin'], env, 'typed-by-the-operator\n');
    expect(fromStdin).toMatchObject({ code: 0, stdout: '' });

    expect(await runAdminCommand(['reset-password', '--password-stdin'], env, 'short\n')).toMatchObject({ code: 1 });
    const unknown = await runAdminCommand(['reset-password', '--username', 'nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("There is no user 'nobody' (users: admin)");
    expect(await runAdminCommand(['reset-password', '--bogus'], env)).toMatchObject({ code: 2 });
    expect(await runAdminCommand(['rename-everything'], env)).toMatchObject({ code: 2 });

    const run = startGateway({ PORT: '0', HOST: '127.0.0.1', GATEWAY_SQLITE_PATH: sqlite });
    try {
      const url = await listeningUrl(run);
      expect((await login(url, 'typed-by-the-operator')).status).toBe(200);
      expect((await login(url, generated.stdout.trim())).status).toBe(401);
    } finally {
      expect(await stop(run)).toBe(0);
    }
  }, 90_000);
});

const mysqlUrl = process.env.TEST_DATABASE_URL;
describeWhenAvailable(
  '`admin reset-password` on MySQL/MariaDB',
  mysqlUrl ? [] : ['TEST_DATABASE_URL is not set'],
  () => {
    it('creates the first admin on a fresh database, then resets its password', async () => {
      const database = mysqlDatabase(mysqlUrl!);
      const env = await database.prepare();
      try {
        const created = await runAdminCommand(['reset-password', '--password-stdin'], env, 'first-admin-password\n');
        expect(created).toMatchObject({ code: 0, stdout: '' });
        expect(created.stderr).toContain("Created admin user 'admin'");
        const reset = await runAdminCommand(['reset-password'], env);
        expect(reset.code).toBe(0);
        expect(reset.stderr).toContain("Reset the password of 'admin'");
        const run = startGateway({ ...env, PORT: '0', HOST: '127.0.0.1' });
        try {
          const url = await listeningUrl(run);
          expect((await login(url, reset.stdout.trim())).status).toBe(200);
          expect((await login(url, 'first-admin-password')).status).toBe(401);
        } finally {
          expect(await stop(run)).toBe(0);
        }
      } finally {
        await database.dispose();
      }
    }, 90_000);
  },
);

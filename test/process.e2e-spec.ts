import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { Public } from '../src/auth/auth.decorators';
import { Enveloped } from '../src/common/envelope.interceptor';
import { listeningUrl, startGateway } from './utils/gateway-process';
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

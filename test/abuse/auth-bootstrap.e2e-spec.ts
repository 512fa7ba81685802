import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { __resetOutOfContextForTests as resetPinoLogger } from 'nestjs-pino/PinoLogger';
import { adminToken } from '../utils/fixtures';
import { createTestApp, TEST_ADMIN, type TestApp } from '../utils/test-app';
import type { TestDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15, findings 8 (start-up part) and 9: what a restart does with the bootstrap settings.
 * A deleted bootstrap key came back at the next start, publicly known keys were accepted
 * silently, and a changed `GATEWAY_ADMIN_PASSWORD` silently did nothing.
 */

/** AgentX's default key, printed in its documentation and in this repository's README. */
const AGENTX_KEY = 'default-api-key-1234567890';
const PRIVATE_KEY = 'private-bootstrap-key-5f0c1d2e3a4b';

/** One SQLite file that outlives the apps started on it, as a real deployment's database does. */
function sqliteFile(): TestDatabase & { remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-restart-'));
  return {
    name: 'sqlite',
    prepare: () => Promise.resolve({ DATABASE_URL: '', GATEWAY_SQLITE_PATH: join(dir, 'gateway.db') }),
    dispose: () => Promise.resolve(),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('abuse: restarts and the bootstrap settings', () => {
  const database = sqliteFile();
  afterAll(() => database.remove());

  async function start(env: Record<string, string>, capture = new LogCapture()): Promise<TestApp> {
    // nestjs-pino keeps the first app's logger for the whole file; each start logs into its own capture.
    resetPinoLogger();
    return createTestApp({ database, env: { LOG_LEVEL: 'info', ...env }, logDestination: capture });
  }

  it('a bootstrap key an admin deleted is not re-created at the next start', async () => {
    const env = { GATEWAY_BOOTSTRAP_API_KEYS: PRIVATE_KEY };
    const first = await start(env);
    try {
      const admin = await adminToken(first);
      const keys = await first.http().get('/api/admin/apikeys').set('authorization', `Bearer ${admin}`).expect(200);
      const seeded = (keys.body.data.items as { id: string; prefix: string }[]).find((k) =>
        PRIVATE_KEY.startsWith(k.prefix),
      );
      expect(seeded).toBeDefined();
      await first.http().delete(`/api/admin/apikeys/${seeded!.id}`).set('authorization', `Bearer ${admin}`).expect(200);
    } finally {
      await first.close();
    }

    const capture = new LogCapture();
    const second = await start(env, capture);
    try {
      const bind = await second.http().post('/api/projects').send({ name: 'Squatter', apiKey: PRIVATE_KEY });
      expect([bind.status, bind.body.error]).toEqual([401, 'INVALID_API_KEY']);
      const notice = capture.lines('was deleted');
      expect(notice).toHaveLength(1);
      expect(notice[0].level).toBe(40);
      expect(capture.text).not.toContain(PRIVATE_KEY);
    } finally {
      await second.close();
    }
  });

  it('warns at every start about a publicly known key, naming only its prefix', async () => {
    for (let run = 0; run < 2; run += 1) {
      const capture = new LogCapture();
      const gateway = await start({ GATEWAY_BOOTSTRAP_API_KEYS: `${AGENTX_KEY},${PRIVATE_KEY}-other` }, capture);
      try {
        if (run === 0)
          await gateway.http().post('/api/projects').send({ name: 'AgentX', apiKey: AGENTX_KEY }).expect(200);
        const warnings = capture.lines('publicly known');
        expect(warnings).toHaveLength(1);
        expect(warnings[0].level).toBe(40);
        expect(warnings[0].msg).toContain(AGENTX_KEY.slice(0, 6));
        expect(capture.text).not.toContain(AGENTX_KEY);
      } finally {
        await gateway.close();
      }
    }
  });

  it('a changed GATEWAY_ADMIN_PASSWORD is not applied to the existing admin, and says so', async () => {
    const capture = new LogCapture();
    const gateway = await start({ GATEWAY_ADMIN_PASSWORD: 'a-changed-password' }, capture);
    try {
      const warnings = capture.lines('GATEWAY_ADMIN_PASSWORD');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe(40);
      expect(warnings[0].msg).toContain('PUT /api/admin/auth/password');
      expect(capture.text).not.toContain('a-changed-password');
      const login = (password: string) =>
        gateway.http().post('/api/admin/auth/login').send({ username: TEST_ADMIN.username, password });
      await login('a-changed-password').expect(401);
      await login(TEST_ADMIN.password).expect(200);
    } finally {
      await gateway.close();
    }
    const quiet = new LogCapture();
    await (await start({}, quiet)).close();
    expect(quiet.lines('GATEWAY_ADMIN_PASSWORD')).toEqual([]);
  });
});

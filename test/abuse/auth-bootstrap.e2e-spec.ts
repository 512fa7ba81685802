import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { __resetOutOfContextForTests as resetPinoLogger } from 'nestjs-pino/PinoLogger';
import { adminToken } from '../utils/fixtures';
import { DataSource } from 'typeorm';
import { describeWhenAvailable } from '../utils/requirements';
import { createTestApp, TEST_ADMIN, type TestApp } from '../utils/test-app';
import { mysqlDatabase, mysqlMissing, type TestDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15, findings 8 (start-up part) and 9: what a restart does with the bootstrap settings.
 * A deleted bootstrap key came back at the next start, publicly known keys were accepted
 * silently, and a changed `GATEWAY_ADMIN_PASSWORD` silently did nothing.
 */

/** AgentX's default key, printed in its documentation and in this repository's README. */
const AGENTX_KEY = 'default-api-key-1234567890';
const PRIVATE_KEY = 'private-bootstrap-key-5f0c1d2e3a4b';

/** A database that outlives the apps started on it, as a real deployment's does; `remove` drops it. */
type DurableDatabase = TestDatabase & { remove(): Promise<void> };

/** One SQLite file. */
function sqliteFile(): DurableDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'gw-restart-'));
  return {
    name: 'sqlite',
    prepare: () => Promise.resolve({ DATABASE_URL: '', GATEWAY_SQLITE_PATH: join(dir, 'gateway.db') }),
    dispose: () => Promise.resolve(),
    remove: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

/** One MySQL/MariaDB schema, created by the first app and kept until `remove`. */
function mysqlSchema(url: string): DurableDatabase {
  const schema = mysqlDatabase(url);
  let prepared: Promise<Record<string, string>> | undefined;
  return {
    name: 'mysql',
    prepare: () => (prepared ??= schema.prepare()),
    dispose: () => Promise.resolve(),
    remove: () => (prepared ? schema.dispose() : Promise.resolve()),
  };
}

/** Runs `body` on SQLite, and on MySQL/MariaDB when `TEST_DATABASE_URL` is set; each test takes a fresh database. */
function describeEachDurableDatabase(title: string, body: (fresh: () => DurableDatabase) => void): void {
  describe(`${title} [sqlite]`, () => body(sqliteFile));
  const url = process.env.TEST_DATABASE_URL;
  describeWhenAvailable(`${title} [mysql]`, url ? [] : [mysqlMissing()!], () => body(() => mysqlSchema(url!)));
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

describeEachDurableDatabase('abuse: restarts never bring back what an admin deleted', (fresh) => {
  let database: DurableDatabase;
  beforeEach(() => {
    database = fresh();
  });
  afterEach(() => database.remove());

  async function start(env: Record<string, string> = {}, capture = new LogCapture()): Promise<TestApp> {
    resetPinoLogger();
    return createTestApp({ database, env: { LOG_LEVEL: 'info', ...env }, logDestination: capture });
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('the bootstrap admin, deleted once another admin exists, is not re-created by GATEWAY_ADMIN_PASSWORD', async () => {
    const first = await start();
    try {
      const admin = await adminToken(first);
      await first
        .http()
        .post('/api/admin/users')
        .set(bearer(admin))
        .send({ username: 'ops', password: 'ops-password-1', role: 'admin' })
        .expect(200);
      const ops = await first
        .http()
        .post('/api/admin/auth/login')
        .send({ username: 'ops', password: 'ops-password-1' });
      const opsToken = ops.body.data.accessToken as string;
      const users = await first.http().get('/api/admin/users').set(bearer(opsToken)).expect(200);
      const bootstrap = (users.body.data as { id: string; username: string }[]).find((u) => u.username === 'admin')!;
      await first.http().delete(`/api/admin/users/${bootstrap.id}`).set(bearer(opsToken)).expect(200);
    } finally {
      await first.close();
    }

    // The same environment as before: GATEWAY_ADMIN_USERNAME=admin, GATEWAY_ADMIN_PASSWORD set.
    const capture = new LogCapture();
    const second = await start({}, capture);
    try {
      const login = await second.http().post('/api/admin/auth/login').send(TEST_ADMIN);
      expect([login.status, login.body.error]).toEqual([401, 'INVALID_CREDENTIALS']);
      const ops = await second
        .http()
        .post('/api/admin/auth/login')
        .send({ username: 'ops', password: 'ops-password-1' });
      expect(ops.status).toBe(200);
      const users = await second
        .http()
        .get('/api/admin/users')
        .set(bearer(ops.body.data.accessToken as string))
        .expect(200);
      expect((users.body.data as { username: string }[]).map((u) => u.username)).toEqual(['ops']);
      const warnings = capture.lines("'admin'").filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toContain('GATEWAY_ADMIN_PASSWORD');
      expect(capture.text).not.toContain(TEST_ADMIN.password);
    } finally {
      await second.close();
    }
  });

  it('a bootstrap key deleted before the gateway remembered bootstrap keys is not re-created by the upgrade', async () => {
    const key = 'deleted-before-upgrade-key-7d41';
    const first = await start({ GATEWAY_BOOTSTRAP_API_KEYS: key });
    try {
      const admin = await adminToken(first);
      const keys = await first.http().get('/api/admin/apikeys').set(bearer(admin)).expect(200);
      const seeded = (keys.body.data.items as { id: string; prefix: string }[]).find((k) => key.startsWith(k.prefix))!;
      await first.http().delete(`/api/admin/apikeys/${seeded.id}`).set(bearer(admin)).expect(200);
      // What a database served by a version before the bootstrap-key settings looks like: no trace
      // that the key was ever seeded.
      await first.app.get(DataSource).query("DELETE FROM settings WHERE `key` LIKE 'bootstrap%'");
    } finally {
      await first.close();
    }

    for (let restart = 0; restart < 2; restart += 1) {
      const capture = new LogCapture();
      const gateway = await start({ GATEWAY_BOOTSTRAP_API_KEYS: key }, capture);
      try {
        const bind = await gateway.http().post('/api/projects').send({ name: 'Squatter', apiKey: key });
        expect([restart, bind.status, bind.body.error]).toEqual([restart, 401, 'INVALID_API_KEY']);
        const notice = capture.lines(key.slice(0, 6)).filter((line) => line.level === 40);
        expect(notice).toHaveLength(1);
        expect(notice[0].msg).toContain('GATEWAY_BOOTSTRAP_API_KEYS');
        expect(capture.text).not.toContain(key);
      } finally {
        await gateway.close();
      }
    }
  });

  it('a bootstrap key added to the environment later is seeded', async () => {
    await (await start()).close();
    const key = 'added-after-first-start-key-91ce';
    const gateway = await start({ GATEWAY_BOOTSTRAP_API_KEYS: key });
    try {
      await gateway.http().post('/api/projects').send({ name: 'Later', apiKey: key }).expect(200);
    } finally {
      await gateway.close();
    }
  });
});

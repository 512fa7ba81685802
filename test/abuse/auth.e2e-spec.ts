import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { AdminUsersService } from '../../src/tenancy/admin-users.service';
import { TenancyBootstrapService } from '../../src/tenancy/tenancy-bootstrap.service';
import { adminToken } from '../utils/fixtures';
import { createTestApp, TEST_ADMIN, type TestApp } from '../utils/test-app';
import { describeEachDatabase } from '../utils/test-database';

/**
 * Issue #15, findings 7 and 8: the login could be guessed at through username variants and
 * flooded with unknown usernames (one scrypt each), and an admin token outlived its admin.
 */

const FIFTEEN_MINUTES = 15 * 60_000;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: { error?: string; data?: { accessToken?: string; id?: string; role?: string; username?: string } };
}

describeEachDatabase('abuse: admin login and tokens', (database) => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp({ database, env: { GATEWAY_THROTTLE_PER_MINUTE: '0' } });
  });
  afterAll(() => gateway.close());
  // Every test starts with no failed login counted (the throttles' window is 15 minutes).
  beforeEach(() => gateway.clock.advance(FIFTEEN_MINUTES));

  const login = (username: string, password: string): Promise<Answer> =>
    gateway.http().post('/api/admin/auth/login').send({ username, password });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Creates a user through the users API (as the bootstrap admin) and logs it in. */
  async function userWithToken(username: string, role: 'admin' | 'viewer'): Promise<{ id: string; token: string }> {
    const admin = await adminToken(gateway);
    const password = `${username}-password`;
    const created = await gateway
      .http()
      .post('/api/admin/users')
      .set(bearer(admin))
      .send({ username, password, role })
      .expect(200);
    const res = await login(username, password);
    expect(res.status).toBe(200);
    return { id: created.body.data.id as string, token: res.body.data!.accessToken! };
  }

  describe('finding 7: usernames are canonical, variants share one lockout', () => {
    it('an accented or padded variant of a username is another name, never the admin', async () => {
      for (const variant of ['ÁDMÍN', 'ádmin', 'admín', 'admin\u0301', 'adm\u0131n']) {
        const res = await login(variant, TEST_ADMIN.password);
        expect([variant, res.status, res.body.error]).toEqual([variant, 401, 'INVALID_CREDENTIALS']);
      }
    });

    it('case, surrounding spaces and full-width forms are the same name', async () => {
      for (const variant of ['ADMIN', ' Admin ', 'ａｄｍｉｎ']) {
        expect([variant, (await login(variant, TEST_ADMIN.password)).status]).toEqual([variant, 200]);
      }
    });

    it('five failures spread over variants of one name lock it (the sixth is 429 even when right)', async () => {
      for (const variant of ['admin', 'ADMIN', 'admin ', 'ádmin', 'ＡＤＭＩＮ']) {
        expect((await login(variant, 'wrong-password')).status).toBe(401);
      }
      const locked = await login(TEST_ADMIN.username, TEST_ADMIN.password);
      expect([locked.status, locked.body.error]).toEqual([429, 'LOGIN_THROTTLED']);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('20 failures from one IP, unknown usernames included, throttle that IP', async () => {
      for (let i = 0; i < 20; i += 1) expect((await login(`nobody-${i}`, 'wrong-password')).status).toBe(401);
      const throttled = await login(TEST_ADMIN.username, TEST_ADMIN.password);
      expect([throttled.status, throttled.body.error]).toEqual([429, 'LOGIN_THROTTLED']);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      gateway.clock.advance(FIFTEEN_MINUTES);
      expect((await login(TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
    });

    it('simultaneous wrong passwords for one name cannot exceed its 5 failures (an attempt counts before it hashes)', async () => {
      const answers = await Promise.all(Array.from({ length: 9 }, () => login(TEST_ADMIN.username, 'wrong-password')));
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429]);
      expect(answers.filter((res) => res.status === 429).every((res) => res.body.error === 'LOGIN_THROTTLED')).toBe(
        true,
      );
      expect((await login(TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(429);
    });

    it('simultaneous logins from one IP cannot exceed its 20 failures', async () => {
      for (let i = 0; i < 15; i += 1) expect((await login(`spray-${i}`, 'wrong-password')).status).toBe(401);
      const answers = await Promise.all(
        Array.from({ length: 9 }, (_, i) => login(`spray-more-${i}`, 'wrong-password')),
      );
      expect(answers.map((res) => res.status).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429]);
      expect((await login(TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(429);
    });

    it('a right password gives its reserved attempt back: it never uses up the IP budget', async () => {
      for (let i = 0; i < 19; i += 1) expect((await login(`before-${i}`, 'wrong-password')).status).toBe(401);
      for (let i = 0; i < 3; i += 1) expect((await login(TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
      expect((await login('the-twentieth', 'wrong-password')).status).toBe(401);
      expect((await login(TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(429);
    });

    it('a flood of simultaneous logins hashes at most 2 passwords at a time, the excess is 429 at once', async () => {
      const users = gateway.app.get(AdminUsersService);
      const verify = users.verify.bind(users);
      let inFlight = 0;
      let most = 0;
      const spy = jest.spyOn(users, 'verify').mockImplementation(async (username, password) => {
        most = Math.max(most, ++inFlight);
        try {
          return await verify(username, password);
        } finally {
          inFlight -= 1;
        }
      });
      try {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(`flood-${i}`, 'guess-guess')));
        const throttled = answers.filter((res) => res.status === 429);
        expect(most).toBeLessThanOrEqual(2);
        expect(throttled.length).toBeGreaterThan(0);
        expect(throttled.every((res) => res.body.error === 'LOGIN_THROTTLED' && res.headers['retry-after'])).toBe(true);
        expect(answers.filter((res) => res.status !== 429).every((res) => res.status === 401)).toBe(true);
        expect(spy.mock.calls.length).toBe(answers.length - throttled.length);
      } finally {
        spy.mockRestore();
      }
    });

    it('new usernames are stored canonical and must be safe', async () => {
      const admin = await adminToken(gateway);
      const created = await gateway
        .http()
        .post('/api/admin/users')
        .set(bearer(admin))
        .send({ username: '  Ｍixed.Case@Example ', password: 'mixed-case-password', role: 'viewer' })
        .expect(200);
      expect(created.body.data).toMatchObject({ username: 'mixed.case@example', role: 'viewer' });
      expect((await login('MIXED.CASE@EXAMPLE', 'mixed-case-password')).status).toBe(200);
      for (const username of ['Bob Smith', 'ádmin', 'admin\u0000', '-leading-dash', '', 'x'.repeat(65), 'a/b']) {
        const res = await gateway
          .http()
          .post('/api/admin/users')
          .set(bearer(admin))
          .send({ username, password: 'long-enough-password', role: 'viewer' });
        expect([username, res.status, res.body.details]).toEqual([
          username,
          400,
          [expect.objectContaining({ field: 'username' })],
        ]);
      }
      const taken = await gateway
        .http()
        .post('/api/admin/users')
        .set(bearer(admin))
        .send({ username: 'ADMIN', password: 'long-enough-password', role: 'viewer' });
      expect([taken.status, taken.body.error]).toEqual([409, 'ADMIN_USERNAME_TAKEN']);
    });
  });

  describe('finding 8: admin tokens follow the user record', () => {
    const asToken = (token: string) => ({
      get: (path: string) => gateway.http().get(path).set(bearer(token)),
      post: (path: string, body: object = {}) => gateway.http().post(path).set(bearer(token)).send(body),
    });

    it('a deleted admin is refused at once; a deletion another node made, within a second', async () => {
      const deleted = await userWithToken('deleted-here', 'admin');
      const admin = await adminToken(gateway);
      await asToken(deleted.token).get('/api/admin/projects').expect(200);
      await gateway.http().delete(`/api/admin/users/${deleted.id}`).set(bearer(admin)).expect(200);
      const res = await asToken(deleted.token).get('/api/admin/projects').expect(401);
      expect(res.body.error).toBe('INVALID_ADMIN_TOKEN');

      const elsewhere = await userWithToken('deleted-elsewhere', 'admin');
      await asToken(elsewhere.token).get('/api/admin/projects').expect(200);
      await gateway.app.get(DataSource).query('DELETE FROM admin_users WHERE id = ?', [elsewhere.id]);
      gateway.clock.advance(1000);
      expect((await asToken(elsewhere.token).get('/api/admin/projects').expect(401)).body.error).toBe(
        'INVALID_ADMIN_TOKEN',
      );
    });

    it("a demoted admin's token stops at once", async () => {
      const demoted = await userWithToken('demoted', 'admin');
      const admin = await adminToken(gateway);
      await asToken(demoted.token).post('/api/admin/projects', { name: 'Allowed' }).expect(200);
      const res = await gateway
        .http()
        .put(`/api/admin/users/${demoted.id}`)
        .set(bearer(admin))
        .send({ role: 'viewer' })
        .expect(200);
      expect(res.body.data).toMatchObject({ id: demoted.id, role: 'viewer' });
      expect((await asToken(demoted.token).post('/api/admin/projects', { name: 'Nope' })).status).toBe(401);
    });

    it('the role is read from the record, not from the token', async () => {
      const changed = await userWithToken('changed-behind', 'admin');
      await gateway.app.get(DataSource).query("UPDATE admin_users SET role = 'viewer' WHERE id = ?", [changed.id]);
      gateway.clock.advance(1000);
      const res = await asToken(changed.token).post('/api/admin/projects', { name: 'Forbidden' }).expect(403);
      expect(res.body.error).toBe('ADMIN_ROLE_REQUIRED');
      await asToken(changed.token).get('/api/admin/projects').expect(200);
    });

    it('a token with an unknown subject, without an expiry or with a stale version is refused', async () => {
      const jwt = gateway.app.get(JwtService);
      const secret = gateway.app.get(TenancyBootstrapService).jwtSecret();
      const admin = await adminToken(gateway);
      const me = await asToken(admin).get('/api/admin/users').expect(200);
      const record = (me.body.data as { id: string; username: string }[]).find((u) => u.username === 'admin')!;
      const sign = (payload: object, expiresIn?: number) =>
        jwt.sign(payload, {
          secret,
          issuer: 'api-premium-gateway',
          algorithm: 'HS256',
          ...(expiresIn ? { expiresIn } : {}),
        });
      const forged = {
        unknownSubject: sign({ sub: 'f'.repeat(32), username: 'ghost', role: 'admin', ver: 0 }, 600),
        noExpiry: sign({ sub: record.id, username: 'admin', role: 'admin', ver: 0 }),
        noVersion: sign({ sub: record.id, username: 'admin', role: 'admin' }, 600),
        staleVersion: sign({ sub: record.id, username: 'admin', role: 'admin', ver: -1 }, 600),
      };
      for (const [name, token] of Object.entries(forged)) {
        const res = await asToken(token).get('/api/admin/projects');
        expect([name, res.status, res.body.error]).toEqual([name, 401, 'INVALID_ADMIN_TOKEN']);
      }
    });

    it('a password change stops every older token and answers a new one', async () => {
      const user = await userWithToken('changes-password', 'viewer');
      const other = await login('changes-password', 'changes-password-password');
      const wrong = await gateway
        .http()
        .put('/api/admin/auth/password')
        .set(bearer(user.token))
        .send({ currentPassword: 'not-it-at-all', newPassword: 'the-new-password' });
      expect([wrong.status, wrong.body.error]).toEqual([403, 'INVALID_CURRENT_PASSWORD']);
      const short = await gateway
        .http()
        .put('/api/admin/auth/password')
        .set(bearer(user.token))
        .send({ currentPassword: 'changes-password-password', newPassword: 'short' })
        .expect(400);
      expect(short.body.details).toEqual([expect.objectContaining({ field: 'newPassword' })]);

      const changed = await gateway
        .http()
        .put('/api/admin/auth/password')
        .set(bearer(user.token))
        .send({ currentPassword: 'changes-password-password', newPassword: 'the-new-password' })
        .expect(200);
      for (const old of [user.token, other.body.data!.accessToken!]) {
        expect((await asToken(old).get('/api/admin/projects')).status).toBe(401);
      }
      await asToken(changed.body.data.accessToken as string)
        .get('/api/admin/projects')
        .expect(200);
      expect((await login('changes-password', 'changes-password-password')).status).toBe(401);
      expect((await login('changes-password', 'the-new-password')).status).toBe(200);
    });

    it('logout stops the token (a viewer may log out too)', async () => {
      const user = await userWithToken('logs-out', 'viewer');
      await asToken(user.token).post('/api/admin/auth/logout').expect(200);
      expect((await asToken(user.token).get('/api/admin/projects').expect(401)).body.error).toBe('INVALID_ADMIN_TOKEN');
    });

    it('an admin resetting a password stops the user’s tokens', async () => {
      const user = await userWithToken('reset-by-admin', 'viewer');
      const admin = await adminToken(gateway);
      await gateway
        .http()
        .put(`/api/admin/users/${user.id}`)
        .set(bearer(admin))
        .send({ password: 'set-by-the-admin' })
        .expect(200);
      expect((await asToken(user.token).get('/api/admin/projects')).status).toBe(401);
      expect((await login('reset-by-admin', 'set-by-the-admin')).status).toBe(200);
    });

    it('a viewer may list users but not change them; nobody can remove the last admin', async () => {
      const viewer = await userWithToken('reads-users', 'viewer');
      const list = await asToken(viewer.token).get('/api/admin/users').expect(200);
      const users = list.body.data as { id: string; username: string; role: string }[];
      expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['admin', 'reads-users']));
      expect(JSON.stringify(list.body)).not.toMatch(/passwordHash|scrypt|tokenVersion/);
      const denied = await asToken(viewer.token).post('/api/admin/users', {
        username: 'not-allowed',
        password: 'long-enough-password',
        role: 'admin',
      });
      expect([denied.status, denied.body.error]).toEqual([403, 'ADMIN_ROLE_REQUIRED']);

      const admin = await adminToken(gateway);
      for (const u of users.filter((one) => one.role === 'admin' && one.username !== 'admin')) {
        await gateway.http().delete(`/api/admin/users/${u.id}`).set(bearer(admin)).expect(200);
      }
      const last = users.find((u) => u.username === 'admin')!;
      const del = await gateway.http().delete(`/api/admin/users/${last.id}`).set(bearer(admin));
      expect([del.status, del.body.error]).toEqual([409, 'LAST_ADMIN']);
      const demote = await gateway
        .http()
        .put(`/api/admin/users/${last.id}`)
        .set(bearer(admin))
        .send({ role: 'viewer' });
      expect([demote.status, demote.body.error]).toEqual([409, 'LAST_ADMIN']);
      await asToken(admin).get('/api/admin/projects').expect(200);

      const missing = await gateway
        .http()
        .delete(`/api/admin/users/${'0'.repeat(32)}`)
        .set(bearer(admin));
      expect([missing.status, missing.body.error]).toEqual([404, 'ADMIN_USER_NOT_FOUND']);
      const bad = await gateway
        .http()
        .post('/api/admin/users')
        .set(bearer(admin))
        .send({ username: 'ok-name', password: 'short', role: 'root' })
        .expect(400);
      expect((bad.body.details as { field: string }[]).map((d) => d.field).sort()).toEqual(['password', 'role']);
    });
  });
});

import { Controller, Get } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Authenticated, CurrentPrincipal } from '../src/auth/auth.decorators';
import type { Principal } from '../src/tenancy/principal';
import { hashApiKey } from '../src/tenancy/api-key-secrets';
import { ApiKeyAuthenticator } from '../src/tenancy/api-key-authenticator';
import { adminToken, countQueries, createProject, setKeyStatus, setProjectStatus, viewerToken } from './utils/fixtures';
import { Enveloped } from '../src/common/envelope.interceptor';
import { createTestApp, TEST_ADMIN, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

const AGENTX_KEY = 'default-api-key-1234567890';

/** An authenticated route that touches nothing but the guards: what a hot-path request costs in auth. */
@Enveloped()
@Controller('test-only')
class WhoAmIController {
  @Authenticated()
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}

describeEachDatabase('tenancy and auth', (database) => {
  let gateway: TestApp;
  let admin: string;

  beforeAll(async () => {
    gateway = await createTestApp({
      database,
      env: { GATEWAY_BOOTSTRAP_API_KEYS: AGENTX_KEY },
      extra: { controllers: [WhoAmIController] },
    });
    admin = await adminToken(gateway);
  });
  afterAll(() => gateway.close());

  const asKey = (key: string) => ({ get: (path: string) => gateway.http().get(path).set('api-key', key) });

  describe('the AgentX start-up sequence', () => {
    it('binds the bootstrap key to a new project, idempotently, then authenticates with it', async () => {
      await asKey(AGENTX_KEY).get('/api/projects/current').expect(403);
      const body = { name: 'AgentX', description: 'AgentX agent platform', apiKey: AGENTX_KEY };
      const first = await gateway.http().post('/api/projects').send(body).expect(200);
      expect(first.body).toMatchObject({ code: 200, data: { name: 'AgentX', status: 'ACTIVE' } });
      expect(first.body.data.id).toMatch(/^[0-9a-f]{32}$/);
      const again = await gateway
        .http()
        .post('/api/projects')
        .send({ ...body, extra: 'ignored' })
        .expect(200);
      expect(again.body.data.id).toBe(first.body.data.id);
      const current = await asKey(AGENTX_KEY).get('/api/projects/current').expect(200);
      expect(current.body.data.id).toBe(first.body.data.id);
    });

    it('refuses a key nobody issued', async () => {
      const res = await gateway
        .http()
        .post('/api/projects')
        .send({ name: 'Nope', apiKey: 'never-issued-key-0000' })
        .expect(401);
      expect(res.body.error).toBe('INVALID_API_KEY');
    });

    it('validates the body with field details', async () => {
      const res = await gateway.http().post('/api/projects').send({ name: 'x', apiKey: 7 }).expect(400);
      expect((res.body.details as { field: string }[]).map((d) => d.field).sort()).toEqual(['apiKey', 'name']);
    });
  });

  describe('keys', () => {
    it('are stored only as SHA-256 hashes', async () => {
      const project = await createProject(gateway, 'Hashed');
      const rows: Record<string, unknown>[] = await gateway.app
        .get(DataSource)
        .query('SELECT * FROM api_keys WHERE key_hash = ?', [hashApiKey(project.apiKey)]);
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(project.apiKey);
      expect(rows[0].prefix).toBe(project.apiKey.slice(0, 9));
    });

    it('authenticate from the header, the apiKey query parameter and a Bearer token', async () => {
      const project = await createProject(gateway, 'Carriers');
      await gateway.http().get('/api/projects/current').set('api-key', project.apiKey).expect(200);
      await gateway.http().get(`/api/projects/current?apiKey=${project.apiKey}`).expect(200);
      await gateway.http().get('/api/projects/current').set('authorization', `Bearer ${project.apiKey}`).expect(200);
    });

    it.each([
      ['no key at all', 401, 'API_KEY_MISSING', undefined],
      ['an unknown key', 401, 'INVALID_API_KEY', 'gw_unknownunknownunknownunknown'],
    ])('%s → %i %s', async (_name, status, code, key) => {
      const request = gateway.http().get('/api/projects/current');
      const res = await (key ? request.set('api-key', key) : request).expect(status);
      expect(res.body.error).toBe(code);
    });

    it('an admin JWT is no project key', async () => {
      const res = await gateway.http().get('/api/projects/current').set('authorization', `Bearer ${admin}`).expect(401);
      expect(res.body.error).toBe('API_KEY_MISSING');
    });

    it('unbound (UNUSED) → 403 API_KEY_NOT_BOUND', async () => {
      const issued = await gateway.http().post('/api/admin/apikeys').set('authorization', `Bearer ${admin}`).send({});
      expect(issued.body.data.status).toBe('UNUSED');
      const res = await asKey(issued.body.data.apiKeyValue as string)
        .get('/api/projects/current')
        .expect(403);
      expect(res.body.error).toBe('API_KEY_NOT_BOUND');
    });

    it('revoke takes effect on the very next request', async () => {
      const project = await createProject(gateway, 'Revoked');
      await asKey(project.apiKey).get('/api/projects/current').expect(200);
      await setKeyStatus(gateway, project, 'REVOKED');
      const res = await asKey(project.apiKey).get('/api/projects/current').expect(401);
      expect(res.body.error).toBe('API_KEY_REVOKED');
    });

    it('expires at expiresAt (clock driven) and when set EXPIRED', async () => {
      const project = await createProject(gateway, 'Expiring');
      const keyId = await keyIdOf(project.apiKey);
      const expiresAt = new Date(gateway.clock.now() + 60_000).toISOString();
      await gateway
        .http()
        .put(`/api/admin/apikeys/${keyId}`)
        .set('authorization', `Bearer ${admin}`)
        .send({ expiresAt })
        .expect(200);
      await asKey(project.apiKey).get('/api/projects/current').expect(200);
      gateway.clock.advance(60_000);
      expect((await asKey(project.apiKey).get('/api/projects/current').expect(401)).body.error).toBe('API_KEY_EXPIRED');

      const other = await createProject(gateway, 'SetExpired');
      await setKeyStatus(gateway, other, 'EXPIRED');
      expect((await asKey(other.apiKey).get('/api/projects/current').expect(401)).body.error).toBe('API_KEY_EXPIRED');
    });

    it('an inactive project → 403 PROJECT_INACTIVE, on the next request', async () => {
      const project = await createProject(gateway, 'Paused');
      await asKey(project.apiKey).get('/api/projects/current').expect(200);
      await setProjectStatus(gateway, project, 'INACTIVE');
      expect((await asKey(project.apiKey).get('/api/projects/current').expect(403)).body.error).toBe(
        'PROJECT_INACTIVE',
      );
    });

    it('a missing scope → 403 INSUFFICIENT_SCOPE', async () => {
      const project = await createProject(gateway, 'Scoped');
      const issued = await gateway
        .http()
        .post(`/api/admin/projects/${project.id}/apikeys`)
        .set('authorization', `Bearer ${admin}`)
        .send({ scopes: ['select', 'report'] })
        .expect(200);
      const res = await asKey(issued.body.data.apiKeyValue as string)
        .get('/api/projects/current')
        .expect(403);
      expect(res.body.error).toBe('INSUFFICIENT_SCOPE');
    });

    it('rotate: the old secret stops at once, the new one works', async () => {
      const project = await createProject(gateway, 'Rotated');
      await asKey(project.apiKey).get('/api/projects/current').expect(200);
      const rotated = await gateway
        .http()
        .post(`/api/admin/apikeys/${await keyIdOf(project.apiKey)}/rotate`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      await asKey(project.apiKey).get('/api/projects/current').expect(401);
      await asKey(rotated.body.data.apiKeyValue as string)
        .get('/api/projects/current')
        .expect(200);
    });

    it('after warm-up, 100 authenticated requests issue zero database queries', async () => {
      const project = await createProject(gateway, 'Hot');
      await asKey(project.apiKey).get('/api/test-only/whoami').expect(200);
      await gateway.app.get(ApiKeyAuthenticator).flushLastUsed();
      const queries = await countQueries(gateway.app.get(DataSource), async () => {
        for (let i = 0; i < 100; i += 1) {
          const res = await asKey(project.apiKey).get('/api/test-only/whoami').expect(200);
          expect(res.body.data.projectId).toBe(project.id);
        }
      });
      expect(queries).toBe(0);
    });

    it('writes last_used_at behind the request', async () => {
      const project = await createProject(gateway, 'LastUsed');
      await asKey(project.apiKey).get('/api/projects/current').expect(200);
      await gateway.app.get(ApiKeyAuthenticator).flushLastUsed();
      const res = await gateway
        .http()
        .get(`/api/admin/apikeys/${await keyIdOf(project.apiKey)}`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(new Date(res.body.data.lastUsedAt as string).getTime()).toBe(gateway.clock.now());
    });
  });

  describe('admin', () => {
    it('login: 5 wrong passwords are 401, the 6th attempt is 429 even with the right one', async () => {
      const login = (password: string) =>
        gateway.http().post('/api/admin/auth/login').send({ username: TEST_ADMIN.username, password });
      for (let i = 0; i < 5; i += 1) expect((await login('wrong').expect(401)).body.error).toBe('INVALID_CREDENTIALS');
      const blocked = await login(TEST_ADMIN.password).expect(429);
      expect(blocked.body.error).toBe('LOGIN_THROTTLED');
      expect(Number(blocked.headers['retry-after'])).toBe(15 * 60);
      gateway.clock.advance(15 * 60_000);
      await login(TEST_ADMIN.password).expect(200);
    });

    it('refuses admin routes without a JWT, with a bad one, and with a project key', async () => {
      const missing = await gateway.http().get('/api/admin/projects').expect(401);
      expect(missing.body.error).toBe('ADMIN_TOKEN_MISSING');
      const bad = await gateway.http().get('/api/admin/projects').set('authorization', 'Bearer a.b.c').expect(401);
      expect(bad.body.error).toBe('INVALID_ADMIN_TOKEN');
      const project = await createProject(gateway, 'NotAdmin');
      await gateway.http().get('/api/admin/projects').set('api-key', project.apiKey).expect(401);
    });

    it('a viewer can read but not write', async () => {
      const viewer = await viewerToken(gateway);
      await gateway.http().get('/api/admin/projects').set('authorization', `Bearer ${viewer}`).expect(200);
      const res = await gateway
        .http()
        .post('/api/admin/projects')
        .set('authorization', `Bearer ${viewer}`)
        .send({ name: 'Forbidden' })
        .expect(403);
      expect(res.body.error).toBe('ADMIN_ROLE_REQUIRED');
    });

    it('manages projects: create, search, get, update, delete (cascading to keys)', async () => {
      const auth = { authorization: `Bearer ${admin}` };
      const created = await gateway
        .http()
        .post('/api/admin/projects')
        .set(auth)
        .send({ name: 'Searchable Zebra', description: 'stripes', settings: { whenAllUnavailable: 'least-bad' } })
        .expect(200);
      const id = created.body.data.id as string;
      expect(created.body.data.settings).toEqual({ whenAllUnavailable: 'least-bad' });
      const found = await gateway.http().get('/api/admin/projects?search=zebra&size=5').set(auth).expect(200);
      expect(found.body.data).toMatchObject({ total: 1, page: 1, size: 5 });
      expect(found.body.data.items[0].id).toBe(id);
      await gateway.http().put(`/api/admin/projects/${id}`).set(auth).send({ name: 'Renamed' }).expect(200);
      expect((await gateway.http().get(`/api/admin/projects/${id}`).set(auth).expect(200)).body.data.name).toBe(
        'Renamed',
      );

      const key = await gateway.http().post(`/api/admin/projects/${id}/apikeys`).set(auth).send({}).expect(200);
      await asKey(key.body.data.apiKeyValue as string)
        .get('/api/projects/current')
        .expect(200);
      await gateway.http().delete(`/api/admin/projects/${id}`).set(auth).expect(200);
      expect((await gateway.http().get(`/api/admin/projects/${id}`).set(auth).expect(404)).body.error).toBe(
        'PROJECT_NOT_FOUND',
      );
      await gateway.http().get(`/api/admin/apikeys/${key.body.data.id}`).set(auth).expect(404);
      expect(
        (
          await asKey(key.body.data.apiKeyValue as string)
            .get('/api/projects/current')
            .expect(401)
        ).body.error,
      ).toBe('INVALID_API_KEY');
    });

    it('lists keys masked, never with the secret', async () => {
      const project = await createProject(gateway, 'Masked');
      const res = await gateway
        .http()
        .get(`/api/admin/apikeys?projectId=${project.id}`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(res.body.data.total).toBe(1);
      expect(res.body.data.items[0].maskedKey).toBe(`${project.apiKey.slice(0, 9)}…`);
      expect(JSON.stringify(res.body)).not.toContain(project.apiKey);
      expect(res.body.data.items[0]).not.toHaveProperty('apiKeyValue');
    });

    it('validates a key without using it', async () => {
      const project = await createProject(gateway, 'Validated');
      const auth = { authorization: `Bearer ${admin}` };
      const ok = await gateway.http().get(`/api/admin/apikeys/validate?apiKey=${project.apiKey}`).set(auth).expect(200);
      expect(ok.body.data).toMatchObject({ valid: true, status: 'ACTIVE', projectId: project.id });
      const bad = await gateway.http().get('/api/admin/apikeys/validate?apiKey=nope-nope-nope').set(auth).expect(200);
      expect(bad.body.data).toMatchObject({ valid: false, reason: 'INVALID_API_KEY' });
    });

    it('rejects malformed ids and bodies with the field named', async () => {
      const auth = { authorization: `Bearer ${admin}` };
      const res = await gateway.http().get('/api/admin/projects/not-an-id').set(auth).expect(400);
      expect(res.body.details).toEqual([{ field: 'id', message: expect.any(String) }]);
      const status = await gateway
        .http()
        .put(`/api/admin/apikeys/${'a'.repeat(32)}/status`)
        .set(auth)
        .send({ status: 'UNUSED' })
        .expect(400);
      expect(status.body.details[0].field).toBe('status');
    });
  });

  describe('project settings', () => {
    it('are validated and merged', async () => {
      const project = await createProject(gateway, 'Settings');
      const patch = (body: object) =>
        gateway.http().patch('/api/projects/current/settings').set('api-key', project.apiKey).send(body);
      await patch({ breaker: { consecutiveFailures: 7 } }).expect(200);
      const res = await patch({ breaker: { openSeconds: 45 }, defaultStrategy: 'least-latency' }).expect(200);
      expect(res.body.data.settings).toEqual({
        breaker: { consecutiveFailures: 7, openSeconds: 45 },
        defaultStrategy: 'least-latency',
      });
      const bad = await patch({ whenAllUnavailable: 'maybe', breaker: { consecutiveFailures: 0 } }).expect(400);
      expect((bad.body.details as { field: string }[]).map((d) => d.field).sort()).toEqual([
        'breaker.consecutiveFailures',
        'whenAllUnavailable',
      ]);
      await patch({ unknownSetting: true }).expect(400);
    });
  });

  async function keyIdOf(secret: string): Promise<string> {
    const res = await gateway
      .http()
      .get(`/api/admin/apikeys/validate?apiKey=${secret}`)
      .set('authorization', `Bearer ${admin}`);
    const keys = await gateway
      .http()
      .get(`/api/admin/apikeys?projectId=${res.body.data.projectId}&size=200`)
      .set('authorization', `Bearer ${admin}`);
    const match = (keys.body.data.items as { id: string; prefix: string }[]).find((k) => secret.startsWith(k.prefix));
    if (!match) throw new Error('key not found');
    return match.id;
  }
});

import { ApiKeyAuthenticator } from '../src/tenancy/api-key-authenticator';
import { adminToken, createProject, setKeyStatus, setProjectStatus, type TestProject } from './utils/fixtures';
import { createTestApp, type TestApp } from './utils/test-app';

/**
 * select-instance and report-result(s) are served by Fastify handlers of their own (HotRoutes,
 * ADR 0012), every other route by Nest's guards. Each way a key can be refused must be answered
 * the same on both: the same status and error code as `GET /api/projects/current` (served by
 * Nest), on each hot route.
 */
const REPORT = { instanceId: 'f'.repeat(32), businessId: 'b', success: true, latencyMs: 1, callTimestamp: 1 };
const HOT = [
  ['select-instance', { apiIdentifier: 'nothing-registered', apiType: 'MODEL' }],
  ['report-result', REPORT],
  ['report-results', { results: [REPORT] }],
] as const;

describe('the hot routes refuse keys exactly as the Nest-served routes do', () => {
  let gateway: TestApp;
  let admin: string;

  beforeAll(async () => {
    gateway = await createTestApp();
    admin = await adminToken(gateway);
  });
  afterAll(() => gateway.close());

  type Answer = { status: number; error: unknown };
  const nest = async (headers: Record<string, string>): Promise<Answer> => {
    const res = await gateway.http().get('/api/projects/current').set(headers);
    return { status: res.status, error: res.body.error };
  };
  const hot = async (headers: Record<string, string>): Promise<Record<string, Answer>> => {
    const answers: Record<string, Answer> = {};
    for (const [route, body] of HOT) {
      const res = await gateway.http().post(`/api/gateway/${route}`).set(headers).send(body);
      answers[route] = { status: res.status, error: res.body.error };
      expect(res.headers['x-request-id']).toBe(res.body.requestId);
    }
    return answers;
  };
  /** Every hot route answers what the Nest route answers, and that is `expected`. */
  const sameRefusal = async (headers: Record<string, string>, expected: Answer): Promise<void> => {
    expect(await nest(headers)).toEqual(expected);
    expect(await hot(headers)).toEqual(Object.fromEntries(HOT.map(([route]) => [route, expected])));
  };
  const key = (project: TestProject | string) => ({
    'api-key': typeof project === 'string' ? project : project.apiKey,
  });
  const issue = async (body: object): Promise<string> => {
    const res = await gateway.http().post('/api/admin/apikeys').set('authorization', `Bearer ${admin}`).send(body);
    return res.body.data.apiKeyValue as string;
  };

  it('no key, an admin JWT instead, a key nobody issued', async () => {
    await sameRefusal({}, { status: 401, error: 'API_KEY_MISSING' });
    await sameRefusal({ authorization: `Bearer ${admin}` }, { status: 401, error: 'API_KEY_MISSING' });
    await sameRefusal(key('gw_nobody-issued-this-key'), { status: 401, error: 'INVALID_API_KEY' });
  });

  it('an unbound, a revoked, an expired key; an inactive project', async () => {
    await sameRefusal(key(await issue({})), { status: 403, error: 'API_KEY_NOT_BOUND' });
    const revoked = await createProject(gateway, 'Hot revoked');
    await setKeyStatus(gateway, revoked, 'REVOKED');
    await sameRefusal(key(revoked), { status: 401, error: 'API_KEY_REVOKED' });
    const expired = await createProject(gateway, 'Hot expired');
    await setKeyStatus(gateway, expired, 'EXPIRED');
    await sameRefusal(key(expired), { status: 401, error: 'API_KEY_EXPIRED' });
    const paused = await createProject(gateway, 'Hot paused');
    await setProjectStatus(gateway, paused, 'INACTIVE');
    await sameRefusal(key(paused), { status: 403, error: 'PROJECT_INACTIVE' });
  });

  it("each hot route asks for its own scope, on a key's first use and once it is cached", async () => {
    const project = await createProject(gateway, 'Hot scoped');
    const scoped = async (scopes: string[]): Promise<string> => {
      const res = await gateway
        .http()
        .post(`/api/admin/projects/${project.id}/apikeys`)
        .set('authorization', `Bearer ${admin}`)
        .send({ scopes })
        .expect(200);
      return res.body.data.apiKeyValue as string;
    };
    const refused = { status: 403, error: 'INSUFFICIENT_SCOPE' };
    const reportOnly = key(await scoped(['report']));
    const selectOnly = key(await scoped(['select']));
    for (let use = 0; use < 2; use++) {
      expect(await hot(reportOnly)).toEqual({
        'select-instance': refused,
        'report-result': { status: 404, error: 'INSTANCE_NOT_FOUND' },
        'report-results': { status: 404, error: 'INSTANCE_NOT_FOUND' },
      });
      expect(await hot(selectOnly)).toEqual({
        'select-instance': { status: 400, error: 'NO_AVAILABLE_INSTANCE' },
        'report-result': refused,
        'report-results': refused,
      });
    }
  });

  it('a key whose first lookup fails is answered 500 INTERNAL_ERROR in the envelope, then works', async () => {
    const project = await createProject(gateway, 'Hot lookup fails');
    const authenticator = gateway.app.get(ApiKeyAuthenticator);
    authenticator['forgetProject'](project.id);
    const load = jest.spyOn(authenticator as unknown as { load: () => Promise<never> }, 'load');
    load.mockRejectedValueOnce(new Error('database unreachable'));
    const res = await gateway
      .http()
      .post('/api/gateway/select-instance')
      .set(key(project))
      .send({ apiIdentifier: 'nothing-registered', apiType: 'MODEL' })
      .expect(500);
    expect(res.body).toMatchObject({ code: 500, error: 'INTERNAL_ERROR', requestId: res.headers['x-request-id'] });
    expect(JSON.stringify(res.body)).not.toContain('database unreachable');
    load.mockRestore();
    expect((await hot(key(project)))['select-instance']).toEqual({ status: 400, error: 'NO_AVAILABLE_INSTANCE' });
  });
});

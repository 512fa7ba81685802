import { adminToken, createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, registerInstances } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';
import { LogCapture } from '../utils/log-capture';

/**
 * Issue #15, finding 10: the log redaction matched the raw URL while authentication read the
 * decoded query names, so `?api%4Bey=<key>` authenticated and was logged in clear; and the
 * documented `?apiKey=` answered 400 on list routes.
 */

describe('abuse: API keys in the query string', () => {
  const capture = new LogCapture();
  let gateway: TestApp;
  let project: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { LOG_LEVEL: 'trace' }, logDestination: capture });
    project = await createProject(gateway, 'QueryKeys');
    await registerInstances(gateway, project, [modelInstance('a')]);
  });
  afterAll(() => gateway.close());

  it('only the exact parameter name apiKey authenticates, not an encoded spelling of it', async () => {
    for (const name of ['api%4Bey', '%61piKey', 'apiKey%00', 'APIKEY', 'api_key']) {
      const res = await gateway.http().get(`/api/projects/current?${name}=${project.apiKey}`);
      expect([name, res.status, res.body.error]).toEqual([name, 401, 'API_KEY_MISSING']);
    }
    await gateway
      .http()
      .get(`/api/projects/current?apiKey=${encodeURIComponent(project.apiKey)}`)
      .expect(200);
  });

  it('no spelling of a key, token or password parameter reaches the logs in clear', async () => {
    const secrets = Array.from({ length: 12 }, (_, i) => `secret${i}-${project.apiKey.slice(3, 15)}`);
    const names = [
      'api%4Bey',
      '%61piKey',
      'API_KEY',
      'api-key',
      'Key',
      'TOKEN',
      'access%5Ftoken',
      'Password',
      'pass%77ord',
      'apikey',
      'apiKey',
      'refresh_token',
    ];
    const query = names.map((name, i) => `${name}=${secrets[i]}`).join('&');
    await gateway.http().get(`/api/projects/current?${query}`);
    await gateway.http().get(`/api/projects/current?api%4Bey=${project.apiKey}`);
    expect(capture.text).toContain('/api/projects/current?');
    expect(capture.text).toContain('[REDACTED]');
    for (const secret of [...secrets, project.apiKey]) expect(capture.text).not.toContain(secret);
  });

  it('keeps the other query parameters readable in the log', async () => {
    await gateway.http().get(`/api/instances?apiKey=${project.apiKey}&size=7&page=1`).expect(200);
    expect(capture.text).toMatch(/\/api\/instances\?apiKey=\[REDACTED\]&size=7&page=1/);
  });

  it('the documented ?apiKey= works on list routes', async () => {
    const list = await gateway.http().get(`/api/instances?apiKey=${project.apiKey}&size=5`).expect(200);
    expect(list.body.data.items).toHaveLength(1);
    const admin = await adminToken(gateway);
    await gateway
      .http()
      .get(`/api/admin/projects?apiKey=ignored&size=5`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    const validate = await gateway
      .http()
      .get(`/api/admin/apikeys/validate?apiKey=${project.apiKey}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(validate.body.data).toMatchObject({ valid: true, projectId: project.id });
    // Other unknown parameters are still refused.
    const unknown = await gateway.http().get(`/api/instances?apiKey=${project.apiKey}&bogus=1`).expect(400);
    expect(unknown.body.details).toEqual([expect.objectContaining({ field: 'bogus' })]);
  });
});

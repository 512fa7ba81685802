import { Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { adminToken, createProject } from './utils/fixtures';
import { createTestApp, TEST_ADMIN, type TestApp } from './utils/test-app';
import { LogCapture } from './utils/log-capture';

describe('secrets never reach the logs', () => {
  const capture = new LogCapture();
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { LOG_LEVEL: 'trace' }, logDestination: capture });
  });
  afterAll(() => gateway.close());

  it('keeps API keys, passwords and JWTs out of every log line', async () => {
    const token = await adminToken(gateway);
    await gateway.http().post('/api/admin/auth/login').send({ username: 'admin', password: 'not-the-password-x' });
    const project = await createProject(gateway, 'Logged');
    const created = await gateway.http().post('/api/admin/apikeys').set('authorization', `Bearer ${token}`).send({});
    const unbound = created.body.data.apiKeyValue as string;

    await gateway.http().get('/api/projects/current').set('api-key', project.apiKey).expect(200);
    await gateway.http().get(`/api/projects/current?apiKey=${project.apiKey}`).expect(200);
    await gateway.http().get('/api/projects/current').set('authorization', `Bearer ${project.apiKey}`).expect(200);
    await gateway.http().get('/api/projects/current').set('api-key', unbound).expect(403);
    await gateway.http().get('/api/admin/projects').set('authorization', `Bearer ${token}`).expect(200);
    await gateway
      .http()
      .get(`/api/admin/apikeys/validate?apiKey=${project.apiKey}`)
      .set('authorization', `Bearer ${token}`);

    // The capture must have seen the requests, or the assertions below prove nothing.
    expect(capture.text).toContain('/api/projects/current');
    expect(capture.text).toContain('[REDACTED]');
    for (const secret of [project.apiKey, unbound, token, TEST_ADMIN.password, 'not-the-password-x']) {
      expect(capture.text).not.toContain(secret);
    }
  });

  it("logs a failed statement without its values, whichever code logs it (the logger's err serializer)", () => {
    const driverError = Object.assign(new Error("Duplicate entry 'tenant-secret-42' for key 'uq'"), {
      code: 'ER_DUP_ENTRY',
      sql: "INSERT INTO t VALUES ('tenant-secret-42')",
    });
    const failure = new QueryFailedError('INSERT INTO t VALUES (?)', ['tenant-secret-42'], driverError);
    new Logger('SecretsTest').error({ err: failure }, 'statement failed on purpose');
    const [line] = capture.lines('statement failed on purpose');
    expect(line).toMatchObject({ err: { type: 'QueryFailedError', code: 'ER_DUP_ENTRY' } });
    expect(capture.text).not.toContain('tenant-secret-42');
  });
});

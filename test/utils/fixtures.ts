import type { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/tenancy/api-keys.service';
import { AdminUsersService } from '../../src/tenancy/admin-users.service';
import { TEST_ADMIN, type TestApp } from './test-app';

/** Logs in as the bootstrap admin and returns the JWT. */
export async function adminToken(gateway: TestApp): Promise<string> {
  const res = await gateway.http().post('/api/admin/auth/login').send(TEST_ADMIN).expect(200);
  return res.body.data.accessToken as string;
}

/** A viewer admin (read-only) and its JWT. */
export async function viewerToken(gateway: TestApp): Promise<string> {
  await gateway.app.get(AdminUsersService).create('viewer', 'viewer-test-password', 'viewer');
  const res = await gateway
    .http()
    .post('/api/admin/auth/login')
    .send({ username: 'viewer', password: 'viewer-test-password' })
    .expect(200);
  return res.body.data.accessToken as string;
}

export interface TestProject {
  readonly id: string;
  readonly apiKey: string;
}

/** Issues an UNUSED key and creates its project through the [compat] `POST /api/projects`. */
export async function createProject(gateway: TestApp, name: string): Promise<TestProject> {
  const { secret } = await gateway.app.get(ApiKeysService).issue({ description: `key of ${name}` });
  const res = await gateway
    .http()
    .post('/api/projects')
    .send({ name, description: `${name} project`, apiKey: secret })
    .expect(200);
  return { id: res.body.data.id as string, apiKey: secret };
}

/** Sets the status of a project's key through the admin API (`REVOKED`, `EXPIRED`, …). */
export async function setKeyStatus(gateway: TestApp, project: TestProject, status: string): Promise<void> {
  const admin = await adminToken(gateway);
  const keys = await gateway
    .http()
    .get(`/api/admin/apikeys?projectId=${project.id}&size=200`)
    .set('authorization', `Bearer ${admin}`)
    .expect(200);
  const key = (keys.body.data.items as { id: string; prefix: string }[]).find((k) =>
    project.apiKey.startsWith(k.prefix),
  );
  if (!key) throw new Error(`no key of project ${project.id} matches`);
  await gateway
    .http()
    .put(`/api/admin/apikeys/${key.id}/status`)
    .set('authorization', `Bearer ${admin}`)
    .send({ status })
    .expect(200);
}

/** Counts the SQL queries the app's DataSource runs while `work` runs. */
/** Sets a project's status (`ACTIVE`, `INACTIVE`) through the admin API. */
export async function setProjectStatus(gateway: TestApp, project: TestProject, status: string): Promise<void> {
  await gateway
    .http()
    .put(`/api/admin/projects/${project.id}/status`)
    .set('authorization', `Bearer ${await adminToken(gateway)}`)
    .send({ status })
    .expect(200);
}

export async function countQueries(dataSource: DataSource, work: () => Promise<void>): Promise<number> {
  const logger = dataSource.logger as { queries?: number };
  if (typeof logger.queries !== 'number') throw new Error('The DataSource logger does not count queries');
  const before = logger.queries;
  await work();
  return logger.queries - before;
}

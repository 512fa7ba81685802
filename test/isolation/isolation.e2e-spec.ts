import { createProject } from '../utils/fixtures';
import { createTestApp, type TestApp } from '../utils/test-app';
import { describeEachDatabase } from '../utils/test-database';
import { ISOLATION_CASES, type IsolationContext } from './isolation-cases';

describeEachDatabase('isolation between projects', (database) => {
  let gateway: TestApp;
  let ctx: IsolationContext;

  beforeAll(async () => {
    gateway = await createTestApp({ database });
    const a = await createProject(gateway, 'Project A');
    const b = await createProject(gateway, 'Project B');
    const created = await gateway
      .http()
      .post('/api/instances')
      .set('api-key', b.apiKey)
      .send({ apiIdentifier: 'shared-model', apiType: 'MODEL', businessId: 'b-model' })
      .expect(200);
    ctx = {
      a,
      b,
      bInstance: { id: created.body.data.id as string, businessId: 'b-model' },
      http: () => gateway.http(),
      asB: (path) => gateway.http().get(path).set('api-key', b.apiKey),
    };
  });
  afterAll(() => gateway.close());

  it.each(ISOLATION_CASES.map((c) => [c.name, c] as const))('%s', async (_name, isolationCase) => {
    const res = await isolationCase.attempt(ctx);
    await isolationCase.verify(res, ctx);
  });
});

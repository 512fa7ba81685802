import { InstancesService } from '../../src/registry/instances.service';
import { createProject, type TestProject } from '../utils/fixtures';
import { type InstanceBody, modelInstance, registerInstances } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/** The per-project budget these tests run with (the default is 10 000 instances a minute). */
const PER_MINUTE = 100;

const batchOf = (prefix: string, count: number): InstanceBody[] =>
  Array.from({ length: count }, (_, i) => modelInstance(`${prefix}-${i}`, 'model'));

/**
 * Issue #15, finding 5 (the batch half): a tenant registering and deleting 1000-instance batches
 * back to back took ~90 % of the event loop (each batch parses, validates, writes and answers
 * megabytes), and another tenant's select p99 grew ~8× (`npm run bench:abuse`). Registry writes now
 * cost each project a budget of instances per minute (`GATEWAY_REGISTRY_WRITES_PER_MINUTE`, a
 * minute's worth at once); beyond it, 429 `REGISTRY_BUDGET_EXHAUSTED` — before the body is read
 * once the key is known — for that project only.
 */
describe('abuse: a budget of registry writes per project and minute', () => {
  let gateway: TestApp;
  let churner: TestProject;
  let other: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_REGISTRY_WRITES_PER_MINUTE: String(PER_MINUTE) } });
    churner = await createProject(gateway, 'Churner');
    other = await createProject(gateway, 'Other');
  });
  afterAll(() => gateway.close());

  const batch = (project: TestProject, body: InstanceBody[]) =>
    gateway.http().post('/api/instances/batch').set('api-key', project.apiKey).send({ instances: body });

  it("spends a minute's worth at once, then refuses every registry write before reading it, for that project only", async () => {
    await registerInstances(gateway, churner, batchOf('a', 60));
    await gateway
      .http()
      .delete('/api/instances/batch')
      .set('api-key', churner.apiKey)
      .send({ instances: batchOf('a', 60).map(({ apiType, businessId }) => ({ apiType, businessId })) })
      .expect(200);
    // 100 − 120 = −20: refused until 20 instances' worth refilled (12 s at 100 a minute).
    const service = gateway.app.get(InstancesService);
    const handled = jest.spyOn(service, 'assertWriteBudget');
    const refused = await batch(churner, batchOf('b', 10)).expect(429);
    expect(refused.body).toMatchObject({
      code: 429,
      error: 'REGISTRY_BUDGET_EXHAUSTED',
      details: { limit: PER_MINUTE, retryAfterMs: 12_000 },
    });
    expect(refused.headers['retry-after']).toBe('12');
    await gateway
      .http()
      .post('/api/instances')
      .set('api-key', churner.apiKey)
      .send(modelInstance('single', 'model'))
      .expect(429);
    expect(handled).not.toHaveBeenCalled();
    handled.mockRestore();
    // Another tenant registers on; reads of the churner still work.
    await registerInstances(gateway, other, batchOf('o', 50));
    await gateway.http().get('/api/instances').set('api-key', churner.apiKey).expect(200);
    gateway.clock.advance(11_999);
    await batch(churner, batchOf('b', 10)).expect(429);
    gateway.clock.advance(1);
    await batch(churner, batchOf('b', 10)).expect(200);
  });

  it("takes AgentX's start-up sync (1006 instances) whole at the default budget", async () => {
    const defaults = await createTestApp();
    try {
      const agentx = await createProject(defaults, 'AgentX');
      await registerInstances(defaults, agentx, batchOf('m', 1006));
      await registerInstances(defaults, agentx, batchOf('m', 1006));
    } finally {
      await defaults.close();
    }
  });
});

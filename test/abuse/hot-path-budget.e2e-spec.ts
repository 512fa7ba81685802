import { SelectionService } from '../../src/selection/selection.service';
import { createProject, type TestProject } from '../utils/fixtures';
import { type InstanceBody, modelInstance, registerInstances, selectInstance } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/** Instances behind the wide project's identifier. */
const WIDE = 300;
/** The budget these tests run with (the default is 250 000 candidates a second). */
const BUDGET = 1000;

/**
 * Issue #15, finding 5 (the CPU half): a select costs the candidates it judges, so a tenant sending
 * wide selects (5000 instances, `explain`) as fast as it can took most of the event loop, and
 * another tenant's select p99 grew several times over (`npm run bench:abuse`). Each project now has
 * a budget of candidates judged per second (`GATEWAY_SELECT_CANDIDATES_PER_SECOND`): beyond it,
 * 429 `SELECTION_BUDGET_EXHAUSTED` with `Retry-After` until it refills — for that project only.
 */
describe('abuse: a budget of candidates judged per project and second', () => {
  let gateway: TestApp;
  let wide: TestProject;
  let narrow: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_SELECT_CANDIDATES_PER_SECOND: String(BUDGET) } });
    wide = await createProject(gateway, 'Wide');
    narrow = await createProject(gateway, 'Narrow');
    const instances: InstanceBody[] = [];
    for (let i = 0; i < WIDE; i++) instances.push(modelInstance(`m${i}`, 'model'));
    await registerInstances(gateway, wide, instances);
    await registerInstances(gateway, narrow, [modelInstance('n0', 'model'), modelInstance('n1', 'model')]);
  });
  afterAll(() => gateway.close());

  const select = (project: TestProject, body: Record<string, unknown> = {}) =>
    selectInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL', explain: true, ...body });

  it('serves a second of the budget at once, then answers 429 with when to retry, for that project only', async () => {
    // 1000 − 4 × 300 = −200: the fourth select may still start (the level was not below zero).
    for (let i = 0; i < 4; i++) await select(wide).expect(200);
    const handled = jest.spyOn(gateway.app.get(SelectionService), 'select');
    const refused = await select(wide).expect(429);
    // Refused before the body was read: the handler never ran.
    expect(handled).not.toHaveBeenCalled();
    handled.mockRestore();
    expect(refused.body).toMatchObject({
      code: 429,
      error: 'SELECTION_BUDGET_EXHAUSTED',
      details: { limit: BUDGET, retryAfterMs: 200 },
    });
    expect(refused.headers['retry-after']).toBe('1');
    // The other tenant selects on.
    for (let i = 0; i < 20; i++) await select(narrow).expect(200);
    gateway.clock.advance(199);
    await select(wide).expect(429);
    gateway.clock.advance(1);
    await select(wide).expect(200);
  });

  it('charges what each identifier tried judged: nothing for one without instances', async () => {
    gateway.clock.advance(10_000);
    // `absent` has no instance (nothing judged, nothing charged), `model` 300.
    await select(wide, { apiIdentifier: 'absent', fallbackChain: ['model', 'model', 'absent', 'model'] }).expect(200);
    for (let i = 0; i < 3; i++) await select(wide).expect(200);
    await select(wide).expect(429);
  });
});

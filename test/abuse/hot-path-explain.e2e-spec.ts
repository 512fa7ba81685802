import { createProject, type TestProject } from '../utils/fixtures';
import { type InstanceBody, modelInstance, registerInstances, reportResult, selectInstance } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/** Instances of the wide project: the per-project maximum by default. */
const WIDE = 5000;
/** What an answer may weigh whatever the instance count (20 candidates are ~5 KB). */
const MAX_ANSWER_BYTES = 32 * 1024;

interface Explained {
  readonly tried: string[];
  readonly totalCandidates: number;
  readonly selectableCandidates: number;
  readonly notSelectable: Record<string, number>;
  readonly omittedCandidates: number;
  readonly candidates: {
    instanceId: string;
    businessId: string;
    chosen: boolean;
    selectable: boolean;
    score?: number;
  }[];
}

/**
 * Issue #15, finding 5 (the `explain` half): `explain` over 5000 candidates answered 1.1 MB and
 * pushed another tenant's select p99 from 2.5 to 338 ms. Now it lists at most
 * `GATEWAY_EXPLAIN_MAX_CANDIDATES` candidates (the chosen one first, then the best) and counts
 * the rest, so its size does not grow with the instance count. Memory only, so SQLite is enough.
 */
describe('abuse: explain is bounded whatever the instance count', () => {
  let gateway: TestApp;
  let wide: TestProject;
  let ids: Record<string, string>;

  beforeAll(async () => {
    gateway = await createTestApp();
    wide = await createProject(gateway, 'Wide');
    ids = {};
    for (let from = 0; from < WIDE; from += 1000) {
      const batch: InstanceBody[] = [];
      for (let i = from; i < from + 1000; i++) batch.push(modelInstance(`m${i}`, 'model', { maxConcurrency: 1 }));
      Object.assign(ids, await registerInstances(gateway, wide, batch));
    }
  }, 120_000);
  afterAll(() => gateway.close());

  const select = (body: Record<string, unknown> = {}) =>
    selectInstance(gateway, wide, { apiIdentifier: 'model', apiType: 'MODEL', explain: true, ...body });

  it('lists the chosen candidate and the best others, at most 20, and counts all 5000', async () => {
    // Take ten instances (maxConcurrency 1: each unreported select holds its instance), exclude two.
    const held: string[] = [];
    for (let i = 0; i < 10; i++) held.push(((await select().expect(200)).body.data as { id: string }).id);
    const excluded = [ids.m4998, ids.m4999];
    const res = await select({ excludeInstanceIds: excluded }).expect(200);
    expect(Buffer.byteLength(res.text)).toBeLessThan(MAX_ANSWER_BYTES);

    const explain = res.body.data.explain as Explained;
    expect(explain.tried).toEqual(['model']);
    expect(explain.candidates).toHaveLength(20);
    expect(explain.candidates[0]).toMatchObject({ instanceId: res.body.data.id, chosen: true, selectable: true });
    expect(explain.candidates.slice(1).every((one) => one.selectable && !one.chosen)).toBe(true);
    expect(explain.totalCandidates).toBe(WIDE);
    expect(explain.selectableCandidates).toBe(WIDE - 12);
    expect(explain.notSelectable).toEqual({ breaker: 0, operator: 0, cooldown: 0, quota: 10, excluded: 2 });
    expect(explain.omittedCandidates).toBe(WIDE - 20);
    // The best first: scores never increase down the list.
    const scores = explain.candidates.slice(1).map((one) => one.score ?? 0);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const id of held) await reportResult(gateway, wide, id, { success: true });
  });

  it('lists unavailable candidates after every selectable one, when room is left', async () => {
    const small = await createProject(gateway, 'Small');
    const smallIds = await registerInstances(gateway, small, [modelInstance('x'), modelInstance('y')]);
    const res = await selectInstance(gateway, small, {
      apiIdentifier: 'model',
      apiType: 'MODEL',
      explain: true,
      excludeInstanceIds: [smallIds.x],
    }).expect(200);
    const explain = res.body.data.explain as Explained;
    expect(explain.candidates.map((one) => [one.businessId, one.chosen, one.selectable])).toEqual([
      ['y', true, true],
      ['x', false, false],
    ]);
    expect(explain).toMatchObject({ totalCandidates: 2, selectableCandidates: 1, omittedCandidates: 0 });
    expect(explain.notSelectable.excluded).toBe(1);
  });
});

import { AffinityStore } from '../../src/state/affinity-store';
import { createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, registerInstances, selectInstance, type SelectedInstance } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/** The per-project cap of this suite (GATEWAY_MAX_AFFINITY_PER_PROJECT; the default is 100,000). */
const CAP = 100;

/**
 * Issue #15, finding 4: affinity bindings are capped per project. One cap of 1,000,000 shared by
 * every tenant let one tenant's flood evict the others' bindings (and cost an O(n) scan per new
 * key at the cap). Now each project keeps at most `GATEWAY_MAX_AFFINITY_PER_PROJECT` bindings on
 * a node, its least recently used going first, and never another project's. Memory only, so
 * SQLite is enough.
 */
describe('abuse: affinity bindings are capped per project', () => {
  let gateway: TestApp;
  let flooder: TestProject;
  let victim: TestProject;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_MAX_AFFINITY_PER_PROJECT: String(CAP) } });
    flooder = await createProject(gateway, 'Flooder');
    victim = await createProject(gateway, 'Victim');
    for (const project of [flooder, victim]) {
      await registerInstances(gateway, project, [modelInstance('a'), modelInstance('b'), modelInstance('c')]);
    }
  });
  afterAll(() => gateway.close());

  const select = async (project: TestProject, affinityKey: string): Promise<SelectedInstance> =>
    (await selectInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL', affinityKey }).expect(200)).body
      .data as SelectedInstance;

  it("a flood of keys by one project evicts its own least recently used bindings, never another project's", async () => {
    const bound = await select(victim, 'victim-session');
    expect(bound.affinityBound).toBe(false);

    const first = await select(flooder, 'flood-0');
    for (let i = 1; i < 3 * CAP; i++) await select(flooder, `flood-${i}`);

    // The victim's binding survived the flood.
    expect(await select(victim, 'victim-session')).toMatchObject({ id: bound.id, affinityBound: true });
    // The flooder's own oldest binding went, its newest is still there…
    expect((await select(flooder, `flood-${3 * CAP - 1}`)).affinityBound).toBe(true);
    expect((await select(flooder, 'flood-0')).affinityBound).toBe(false);
    expect(first.affinityBound).toBe(false);
    // …and the node holds at most the cap for it, plus the victim's one.
    expect(gateway.app.get<AffinityStore>(AffinityStore).size).toBeLessThanOrEqual(CAP + 1);
  });

  it('keeps a binding in use while newer keys come and go (least recently used, not oldest inserted)', async () => {
    await select(flooder, 'kept');
    for (let i = 0; i < 3 * CAP; i++) {
      await select(flooder, `churn-${i}`);
      if (i % (CAP / 2) === 0) expect((await select(flooder, 'kept')).affinityBound).toBe(true);
    }
    expect((await select(flooder, 'kept')).affinityBound).toBe(true);
  });
});

describe('abuse: at the default caps, a million bindings of one project leave the others alone', () => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp();
  });
  afterAll(() => gateway.close());

  it("a flood of 1,000,000 bindings by project A does not evict project B's binding", async () => {
    const a = await createProject(gateway, 'Flooder');
    const b = await createProject(gateway, 'Victim');
    await registerInstances(gateway, b, [modelInstance('x'), modelInstance('y')]);
    const select = () =>
      selectInstance(gateway, b, { apiIdentifier: 'model', apiType: 'MODEL', affinityKey: 'conversation-1' }).expect(
        200,
      );
    const first = (await select()).body.data as SelectedInstance;
    // A million selects with fresh keys, as A would send them, straight into the store (HTTP would take minutes).
    const store = gateway.app.get<AffinityStore>(AffinityStore);
    const now = gateway.clock.now();
    for (let i = 0; i < 1_000_000; i++) store.set(`${a.id}|MODEL|model||flood-${i}`, 'f'.repeat(32), 1_800_000, now);
    expect((await select()).body.data).toMatchObject({ id: first.id, affinityBound: true });
    expect(store.size).toBeLessThanOrEqual(100_001);
  }, 60_000);
});

import { RegistryIndex } from '../../src/registry/registry-index';
import { createProject, type TestProject } from '../utils/fixtures';
import { type InstanceBody, modelInstance, postReports, registerInstances, selectInstance } from '../utils/hot-path';
import { createTestApp, type TestApp } from '../utils/test-app';

/** AgentX users have fallback lists of 11 models and more; the gateway takes up to 64. */
const AGENTX_CHAIN = Array.from({ length: 11 }, (_, i) => `model-${i + 1}`);

/**
 * Issue #15, "limits must stop abuse, not the real client": a fallback list of 11 models was
 * refused with 400 (at most 10), and the user silently lost high availability. Long chains are
 * accepted now, and the FALLBACK_EXHAUSTED answer stays bounded: the first 20 identifiers tried
 * plus `triedCount`, each with a bounded summary of why nothing could serve.
 */
describe('abuse: long fallback chains (AgentX) are accepted, their failure stays bounded', () => {
  let gateway: TestApp;
  let project: TestProject;
  let ids: Record<string, string>;

  beforeAll(async () => {
    gateway = await createTestApp();
    project = await createProject(gateway, 'AgentX');
    const instances: InstanceBody[] = [modelInstance('last-resort', 'model-11')];
    // 300 instances of one model, each with its own limit (so each would give its own reason).
    for (let i = 0; i < 300; i++) instances.push(modelInstance(`busy-${i}`, 'busy', { maxConcurrency: i + 1 }));
    ids = await registerInstances(gateway, project, instances);
  });
  afterAll(() => gateway.close());

  const select = (body: Record<string, unknown>) =>
    selectInstance(gateway, project, { apiType: 'MODEL', apiIdentifier: 'gone', ...body });

  it("serves an AgentX user's 11-model fallback list from its last entry", async () => {
    const res = await select({ fallbackChain: AGENTX_CHAIN }).expect(200);
    expect(res.body.data).toMatchObject({ businessId: 'last-resort', fallbackUsed: true, fallbackFrom: 'gone' });
  });

  it('accepts 64 entries and refuses 65 with 400 naming the field', async () => {
    const chain = Array.from({ length: 63 }, (_, i) => `absent-${i}`).concat('model-11');
    await select({ fallbackChain: chain }).expect(200);
    const refused = await select({ fallbackChain: [...chain, 'one-more'] }).expect(400);
    expect(refused.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'fallbackChain' }] });
  });

  it('answers FALLBACK_EXHAUSTED with the first 20 identifiers tried, triedCount and short summaries', async () => {
    // Every busy instance cools down for its own time after a RATE_LIMITED report: 300 distinct reasons.
    const busy = Object.entries(ids).filter(([businessId]) => businessId.startsWith('busy-'));
    await postReports(
      gateway,
      project,
      busy.map(([businessId, instanceId], i) => ({
        instanceId,
        businessId,
        success: false,
        statusCode: 429,
        retryAfterMs: 60_000 + i,
        latencyMs: 10,
        callTimestamp: gateway.clock.now(),
      })),
    );
    const chain = ['busy', ...Array.from({ length: 63 }, (_, i) => `absent-${i}`)];
    const exhausted = await select({ fallbackChain: chain, excludeInstanceIds: [ids['busy-0']] }).expect(400);
    expect(exhausted.body.error).toBe('FALLBACK_EXHAUSTED');
    const { tried, triedCount } = exhausted.body.details as {
      tried: { identifier: string; result: string }[];
      triedCount: number;
    };
    expect(triedCount).toBe(65);
    expect(tried.map((one) => one.identifier)).toEqual(['gone', ...chain.slice(0, 19)]);
    expect(tried[1].result).toMatch(/^300 not selectable: /);
    expect(tried[1].result.length).toBeLessThan(600);
    expect(Buffer.byteLength(exhausted.text)).toBeLessThan(8 * 1024);
  });

  it('judges each identifier once, however often the chain repeats it (64 repeats judged 300 instances 65 times)', async () => {
    const candidates = jest.spyOn(gateway.app.get(RegistryIndex), 'candidates');
    try {
      // Every busy instance is cooling down after its RATE_LIMITED report: a back-off, judged once.
      const repeated = await select({ apiIdentifier: 'busy', fallbackChain: Array(64).fill('busy') }).expect(429);
      expect(repeated.body.error).toBe('QUOTA_EXHAUSTED');
      expect(candidates).toHaveBeenCalledTimes(1);
      candidates.mockClear();
      const mixed = await select({ fallbackChain: ['busy', 'gone', 'busy', 'model-11', 'busy'] }).expect(200);
      expect(mixed.body.data).toMatchObject({ businessId: 'last-resort', fallbackUsed: true });
      expect(candidates.mock.calls.map(([query]) => query.identifier)).toEqual(['gone', 'busy', 'model-11']);
    } finally {
      candidates.mockRestore();
    }
  });
});

import type { SelectInstanceDto } from './dto/select-instance.dto';
import {
  type DecisionLoop,
  PROJECT_ID,
  createDecisionLoop,
  gatewayErrorOf,
  instanceId,
  instanceRecord,
  projectPrincipal,
} from './testing/decision-loop.testing';
import type { ProjectSettings } from '../tenancy/project-settings';

/**
 * SelectionService over the real decision loop (index, admission, breakers, quotas, leases,
 * strategies), driven by a FakeClock. `lowest-cost` with distinct costs makes the strategy's pick
 * predictable where a test needs to know it.
 */
describe('SelectionService', () => {
  let loop: DecisionLoop;

  beforeEach(async () => {
    loop = await createDecisionLoop();
  });
  afterEach(() => loop.close());

  const cost = (n: number, routingParams: Record<string, unknown> = {}) =>
    instanceRecord(n, { routingParams: { costPerUnit: n, ...routingParams } });
  const select = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    loop.selection.select(projectPrincipal(settings), {
      apiIdentifier: 'gpt-4o',
      apiType: 'MODEL',
      strategy: 'lowest-cost',
      ...request,
    });
  const failSelect = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    gatewayErrorOf(() => select(request, settings));
  /** Five SERVER_ERROR reports: the instance's breaker opens for 30 s (no jitter at random 0.5). */
  const trip = (n: number) => {
    for (let i = 0; i < 5; i++) {
      loop.reports.report(projectPrincipal(), loop.reportOf(n, { success: false, statusCode: 503 }));
    }
  };

  describe('priority tiers', () => {
    it('serves the highest priority tier, not degraded', () => {
      loop.register(cost(1, { priority: 1 }), cost(2, { priority: 5 }), cost(3, { priority: 5 }));
      const chosen = select();
      expect(chosen).toMatchObject({ id: instanceId(2), tier: 5, degraded: false, fallbackUsed: false });
    });

    it('serves the next tier, degraded, when the whole top tier is excluded', () => {
      loop.register(cost(1, { priority: 1 }), cost(2, { priority: 5 }), cost(3, { priority: 5 }));
      const chosen = select({ excludeInstanceIds: [instanceId(2), instanceId(3)] });
      expect(chosen).toMatchObject({ id: instanceId(1), tier: 1, degraded: true });
    });

    it('does not call it degraded when the higher tier is INACTIVE (taken out of service, not lost)', () => {
      loop.register(
        cost(1, { priority: 1 }),
        instanceRecord(2, { status: 'INACTIVE', routingParams: { priority: 5 } }),
      );
      expect(select()).toMatchObject({ id: instanceId(1), tier: 1, degraded: false });
    });

    it('never chooses an excluded instance of the served tier', () => {
      loop.register(cost(1), cost(2), cost(3));
      for (let i = 0; i < 5; i++) expect(select({ excludeInstanceIds: [instanceId(1)] }).id).toBe(instanceId(2));
    });
  });

  describe('fallback chain and errors', () => {
    it('uses the first fallback entry that can serve and names the primary', () => {
      loop.register(instanceRecord(1, { apiIdentifier: 'claude' }), instanceRecord(2, { apiIdentifier: 'mistral' }));
      const chosen = select({ fallbackChain: ['llama', 'claude', 'mistral'] });
      expect(chosen).toMatchObject({ id: instanceId(1), fallbackUsed: true, fallbackFrom: 'gpt-4o' });
    });

    it('matches the identifier against businessId too', () => {
      loop.register(instanceRecord(1, { apiIdentifier: 'other', businessId: 'gpt-4o' }));
      expect(select().id).toBe(instanceId(1));
    });

    it('NO_AVAILABLE_INSTANCE when nothing matches, with what was tried and no retry time', () => {
      loop.register(instanceRecord(1, { apiIdentifier: 'claude' }), instanceRecord(2, { projectId: 'e'.repeat(32) }));
      const error = failSelect();
      expect(error.code).toBe('NO_AVAILABLE_INSTANCE');
      expect(error.details).toEqual({ tried: [{ identifier: 'gpt-4o', result: 'no active instance matches' }] });
    });

    it('FALLBACK_EXHAUSTED when a chain was given and nothing in it could serve', () => {
      loop.register(instanceRecord(1), instanceRecord(2, { apiIdentifier: 'claude' }));
      const error = failSelect({
        fallbackChain: ['claude', 'llama'],
        excludeInstanceIds: [instanceId(1), instanceId(2)],
      });
      expect(error.code).toBe('FALLBACK_EXHAUSTED');
      expect(error.details).toEqual({
        tried: [
          { identifier: 'gpt-4o', result: '1 not selectable: excluded by the request' },
          { identifier: 'claude', result: '1 not selectable: excluded by the request' },
          { identifier: 'llama', result: 'no active instance matches' },
        ],
      });
    });

    it('NO_HEALTHY_INSTANCE with retryAfterMs when the breakers are open, counting down with the clock', () => {
      loop.register(instanceRecord(1));
      trip(1);
      let error = failSelect();
      expect(error.code).toBe('NO_HEALTHY_INSTANCE');
      expect(error.details).toMatchObject({ retryAfterMs: 30_000 });
      loop.clock.advance(12_000);
      error = failSelect();
      expect(error.details).toMatchObject({ retryAfterMs: 18_000 });
    });

    it('QUOTA_EXHAUSTED (with Retry-After) when only quotas stand in the way', () => {
      loop.register(instanceRecord(1, { routingParams: { rpmLimit: 2 } }));
      select();
      select();
      const error = failSelect();
      expect(error.code).toBe('QUOTA_EXHAUSTED');
      const { retryAfterMs } = error.details as { retryAfterMs: number };
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(error.headers).toEqual({ 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) });
      loop.clock.advance(retryAfterMs);
      expect(select().id).toBe(instanceId(1));
    });

    it('answers NO_HEALTHY_INSTANCE, not QUOTA_EXHAUSTED, when a breaker is among the reasons', () => {
      loop.register(instanceRecord(1, { routingParams: { rpmLimit: 1 } }), instanceRecord(2));
      trip(2);
      select();
      expect(failSelect().code).toBe('NO_HEALTHY_INSTANCE');
    });
  });

  describe('affinity', () => {
    it('PREFERRED keeps a key on its instance, and rebinds it when that one cannot serve', () => {
      loop.register(cost(1), cost(2), cost(3));
      const first = select({ affinityKey: 'conv-1', excludeInstanceIds: [instanceId(1)] });
      expect(first).toMatchObject({ id: instanceId(2), affinityBound: false });
      expect(select({ affinityKey: 'conv-1' })).toMatchObject({ id: instanceId(2), affinityBound: true });
      // Another affinityType is another namespace.
      expect(select({ affinityKey: 'conv-1', affinityType: 'USER' }).id).toBe(instanceId(1));
      const moved = select({ affinityKey: 'conv-1', excludeInstanceIds: [instanceId(2)] });
      expect(moved).toMatchObject({ id: instanceId(1), affinityBound: false });
      expect(select({ affinityKey: 'conv-1' })).toMatchObject({ id: instanceId(1), affinityBound: true });
    });

    it('STRICT answers AFFINITY_UNAVAILABLE when the bound instance is not selectable', () => {
      loop.register(cost(1), cost(2));
      expect(select({ affinityKey: 'conv-1', affinityStrength: 'STRICT' }).id).toBe(instanceId(1));
      trip(1);
      const error = failSelect({ affinityKey: 'conv-1', affinityStrength: 'STRICT' });
      expect(error.code).toBe('AFFINITY_UNAVAILABLE');
      expect(error.details).toMatchObject({
        tried: [{ identifier: 'gpt-4o', result: 'STRICT affinity binding not selectable' }],
      });
      // PREFERRED on the same key moves on.
      expect(select({ affinityKey: 'conv-1' }).id).toBe(instanceId(2));
    });

    it('a binding expires after the project affinityTtlSeconds', () => {
      loop.register(cost(1), cost(2));
      const settings = { affinityTtlSeconds: 10 };
      select({ affinityKey: 'k', excludeInstanceIds: [instanceId(1)] }, settings);
      loop.clock.advance(9_000);
      expect(select({ affinityKey: 'k' }, settings)).toMatchObject({ id: instanceId(2), affinityBound: true });
      loop.clock.advance(10_001);
      expect(select({ affinityKey: 'k' }, settings)).toMatchObject({ id: instanceId(1), affinityBound: false });
    });
  });

  describe('least-bad and probes', () => {
    const leastBad: ProjectSettings = { whenAllUnavailable: 'least-bad' };

    it('least-bad returns the instance selectable again soonest, degraded', () => {
      loop.register(instanceRecord(1), instanceRecord(2));
      trip(1);
      loop.clock.advance(5_000);
      trip(2);
      expect(failSelect().code).toBe('NO_HEALTHY_INSTANCE');
      expect(select({}, leastBad)).toMatchObject({ id: instanceId(1), degraded: true });
    });

    it('least-bad never overrides the request exclusions', () => {
      loop.register(instanceRecord(1), instanceRecord(2));
      trip(1);
      loop.clock.advance(5_000);
      trip(2);
      expect(select({ excludeInstanceIds: [instanceId(1)] }, leastBad).id).toBe(instanceId(2));
      const both = [instanceId(1), instanceId(2)];
      expect(failSelect({ excludeInstanceIds: both }, leastBad).code).toBe('NO_HEALTHY_INSTANCE');
    });

    it('a HALF_OPEN instance is chosen first for its probe calls, then the strategy resumes', () => {
      loop.register(cost(1), cost(2));
      trip(1);
      expect(select().id).toBe(instanceId(2));
      loop.clock.advance(30_000);
      // lowest-cost would pick 1 anyway: make the probe the more expensive one.
      loop.register(cost(1, { costPerUnit: 9 }));
      const picks = [select(), select(), select(), select()].map((one) => one.id);
      expect(picks).toEqual([instanceId(1), instanceId(1), instanceId(1), instanceId(2)]);
    });
  });

  describe('leases', () => {
    const ttlOf = (selectionId: string) => {
      const lease = loop.leases.close(selectionId, PROJECT_ID);
      return lease && lease.expiresAt - lease.openedAt;
    };

    it('opens one lease per selection, with a 32-hex selectionId', () => {
      loop.register(instanceRecord(1));
      const ids = [select(), select(), select()].map((one) => one.selectionId);
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(loop.leases.openCount(instanceId(1))).toBe(3);
    });

    it('lease TTL: project leaseTtlMs, else timeoutMs + 5 s, else 60 s', () => {
      loop.register(instanceRecord(1), instanceRecord(2, { routingParams: { timeoutMs: 10_000 } }));
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(2)] }).selectionId)).toBe(60_000);
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(1)] }).selectionId)).toBe(15_000);
      const quotas = { quotas: { leaseTtlMs: 2_000 } };
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(2)] }, quotas).selectionId)).toBe(2_000);
    });

    it('an unreported lease holds maxConcurrency until its TTL, then frees it', () => {
      loop.register(instanceRecord(1, { routingParams: { maxConcurrency: 1, timeoutMs: 10_000 } }));
      select();
      const error = failSelect();
      expect(error.code).toBe('QUOTA_EXHAUSTED');
      expect(error.details).toMatchObject({ retryAfterMs: 15_000 });
      loop.clock.advance(14_999);
      expect(failSelect().code).toBe('QUOTA_EXHAUSTED');
      loop.clock.advance(1);
      expect(select().id).toBe(instanceId(1));
      expect(loop.leases.unreportedTotal).toBe(1);
    });
  });

  it('UNKNOWN_STRATEGY lists the registered strategies', () => {
    loop.register(instanceRecord(1));
    const error = failSelect({ strategy: 'nope' });
    expect(error.code).toBe('UNKNOWN_STRATEGY');
    expect((error.details as { available: string[] }).available).toContain('smart');
  });
});

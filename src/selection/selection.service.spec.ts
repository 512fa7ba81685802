import type { SelectInstanceDto } from './dto/select-instance.dto';
import {
  type DecisionLoop,
  PROJECT_ID,
  OTHER_PROJECT_ID,
  costedInstance,
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

  const cost = (n: number, routingParams: Record<string, unknown> = {}) => costedInstance(n, routingParams);
  const select = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    loop.select(request, settings);
  const failSelect = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    gatewayErrorOf(() => select(request, settings));
  const trip = (n: number) => loop.trip(n);

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
      expect(error.details).toEqual({
        tried: [{ identifier: 'gpt-4o', result: 'no active instance matches' }],
        triedCount: 1,
      });
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
        triedCount: 3,
      });
    });

    it('takes an AgentX-sized chain (64 entries) and bounds the answer: the first 20 tried, triedCount, 3 reasons quoted', () => {
      // Instance n holds n leases at maxConcurrency n: ten distinct reasons.
      for (let n = 1; n <= 10; n++) {
        loop.register(instanceRecord(n, { apiIdentifier: 'busy', routingParams: { maxConcurrency: n } }));
        for (let k = 0; k < n; k++)
          loop.leases.open({ projectId: PROJECT_ID, instanceId: instanceId(n), ttlMs: 60_000 });
      }
      const chain = ['busy', ...Array.from({ length: 63 }, (_, i) => `absent-${i}`)];
      const error = failSelect({ fallbackChain: chain });
      expect(error.code).toBe('QUOTA_EXHAUSTED');
      const details = error.details as { tried: { identifier: string; result: string }[]; triedCount: number };
      expect(details.triedCount).toBe(65);
      expect(details.tried.map((one) => one.identifier)).toEqual(['gpt-4o', ...chain.slice(0, 19)]);
      expect(details.tried[1].result).toBe(
        '10 not selectable: maxConcurrency 1 reached; maxConcurrency 2 reached; maxConcurrency 3 reached; and 7 other reasons',
      );
    });

    it('quotes a single other reason in the singular', () => {
      loop.register(
        ...Array.from({ length: 4 }, (_, i) => instanceRecord(i + 1, { routingParams: { maxConcurrency: i + 1 } })),
      );
      for (let n = 1; n <= 4; n++) {
        for (let k = 0; k < n; k++)
          loop.leases.open({ projectId: PROJECT_ID, instanceId: instanceId(n), ttlMs: 60_000 });
      }
      const { tried } = failSelect().details as { tried: { result: string }[] };
      expect(tried[0].result).toMatch(/; and 1 other reason$/);
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

    it('bounds every lease TTL by GATEWAY_MAX_LEASE_TTL_MS (900 s), values stored before the bound included', () => {
      loop.register(instanceRecord(1), instanceRecord(2, { routingParams: { timeoutMs: 3_600_000 } }));
      const stored = { quotas: { leaseTtlMs: 3_600_000 } };
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(2)] }, stored).selectionId)).toBe(900_000);
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(1)] }).selectionId)).toBe(900_000);
      loop.register(instanceRecord(2, { routingParams: { timeoutMs: 895_000 } }));
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(1)] }).selectionId)).toBe(900_000);
      loop.register(instanceRecord(2, { routingParams: { timeoutMs: 894_999 } }));
      expect(ttlOf(select({ excludeInstanceIds: [instanceId(1)] }).selectionId)).toBe(899_999);
    });

    it('refuses the 50001st open lease of a project (LEASE_LIMIT_REACHED, 429), and only for that project', () => {
      loop.register(instanceRecord(1), instanceRecord(2, { projectId: OTHER_PROJECT_ID }));
      loop.leases.open({ projectId: PROJECT_ID, instanceId: instanceId(1), ttlMs: 20_000 });
      for (let i = 1; i < 49_999; i++)
        loop.leases.open({ projectId: PROJECT_ID, instanceId: instanceId(1), ttlMs: 60_000 });
      const last = select();
      const error = failSelect();
      expect(error.code).toBe('LEASE_LIMIT_REACHED');
      expect(error.details).toEqual({ limit: 50_000, retryAfterMs: 20_000 });
      expect(error.headers).toEqual({ 'Retry-After': '20' });
      expect(loop.leases.openOfProject(PROJECT_ID)).toBe(50_000);
      // Another project selects as usual.
      const other = loop.selection.select(projectPrincipal({}, OTHER_PROJECT_ID), {
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
      });
      expect(other.id).toBe(instanceId(2));
      // A report frees a slot; so does the earliest expiry, when it comes.
      loop.reports.report(projectPrincipal(), loop.reportOf(1, { selectionId: last.selectionId }));
      select();
      loop.clock.advance(19_999);
      expect(failSelect().details).toEqual({ limit: 50_000, retryAfterMs: 1 });
      expect(failSelect().headers).toEqual({ 'Retry-After': '1' });
      loop.clock.advance(1);
      expect(select().id).toBe(instanceId(1));
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

/**
 * The failover simulator's baselines users would run instead of the gateway: app replicas with
 * their own breakers from the real cockatiel and opossum (on Jest's fake clock, a fake backend
 * call), and LiteLLM's router cool-down rules driven through choose/learn with explicit times.
 */
import type { Choice, Policy, ServedCall } from '../bench/failover/baselines';
import {
  COCKATIEL_CONSECUTIVE_FAILURES,
  COCKATIEL_HALF_OPEN_AFTER_MS,
  type BreakerLibrary,
  type CallBackend,
  replicaBreakers,
} from '../bench/failover/baselines-replicas';
import { LITELLM_COOLDOWN_TIME_MS, LITELLM_MINIMUM_REQUESTS, litellm } from '../bench/failover/baselines-litellm';
import type { Attempt, BackendSpec, CallRecord, Outcome, Scenario } from '../bench/failover/types';

const spec = (businessId: string, apiIdentifier = 'chat', routingParams?: Record<string, unknown>): BackendSpec => ({
  businessId,
  apiIdentifier,
  routingParams,
  script: [],
});

function scenarioOf(backends: BackendSpec[], fallbackChain?: string[]): Scenario {
  return {
    name: 'unit',
    description: 'unit',
    durationS: 60,
    primary: 'chat',
    fallbackChain,
    backends,
    faults: [],
    client: { rate: 10, timeoutMs: 2000, noSelectionIdShare: 0, silentShare: 0 },
  };
}

describe('replica breakers', () => {
  /** What each backend answers now; every call is recorded. */
  let answers: Record<string, Outcome>;
  let calls: string[];
  const fakeCall: CallBackend = (options) => {
    calls.push(options.businessId);
    return Promise.resolve({
      businessId: options.businessId,
      atMs: options.atMs,
      durationMs: 1,
      outcome: answers[options.businessId],
    });
  };
  const served = (): ServedCall => ({
    atMs: Date.now(),
    mode: 'full',
    urls: new Map(),
    timeoutMs: 2000,
    now: () => Date.now(),
  });
  let policies: Policy[];
  const make = (library: BreakerLibrary, replicas: number, backends = [spec('a1'), spec('a2')]): Policy => {
    const policy = replicaBreakers(scenarioOf(backends), { library, replicas, call: fakeCall });
    policies.push(policy);
    return policy;
  };
  const serve = async (policy: Policy, n = 1): Promise<CallRecord[]> => {
    const records: CallRecord[] = [];
    for (let i = 0; i < n; i++) records.push(await policy.serveCall!(served())!);
    return records;
  };
  const on = (id: string): number => calls.filter((c) => c === id).length;

  beforeEach(() => {
    // The libraries read Date.now() and set real timers; promises and ticks stay real.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    answers = { a1: 'ok', a2: 'ok' };
    calls = [];
    policies = [];
  });

  afterEach(async () => {
    await Promise.all(policies.map(async (p) => p.close?.()));
    jest.useRealTimers();
  });

  it('cockatiel: a replica opens after 5 consecutive failures, then skips the backend without a call', async () => {
    const policy = make('cockatiel', 1);
    answers.a1 = 'refused';
    const records = await serve(policy, 30);
    expect(policy.name).toBe('replicas-cockatiel');
    expect(on('a1')).toBe(COCKATIEL_CONSECUTIVE_FAILURES);
    expect(await policy.ejections()).toBe(1);
    // Every call still succeeds: a retry on a2 after a refusal, then a2 straight away.
    expect(records.every((r) => r.attempts.at(-1)?.outcome === 'ok' && r.refusals === 0)).toBe(true);
    expect(records.every((r) => r.attempts.length <= 2)).toBe(true);
  });

  it('cockatiel: half-open after 10 s — a failed test call re-opens it, a good one closes it', async () => {
    const policy = make('cockatiel', 1);
    answers.a1 = 'refused';
    await serve(policy, 10);
    jest.advanceTimersByTime(COCKATIEL_HALF_OPEN_AFTER_MS - 1);
    await serve(policy, 2);
    expect(on('a1')).toBe(5);
    jest.advanceTimersByTime(1);
    await serve(policy, 4);
    expect(on('a1')).toBe(6);
    expect(await policy.ejections()).toBe(2);
    answers.a1 = 'ok';
    jest.advanceTimersByTime(COCKATIEL_HALF_OPEN_AFTER_MS);
    await serve(policy, 10);
    expect(on('a1')).toBeGreaterThanOrEqual(6 + 5);
  });

  it('replicas are independent: the second replica still calls a backend the first has open', async () => {
    const policy = make('cockatiel', 2);
    answers.a1 = 'refused';
    // Arrival k goes to replica k mod 2; each replica starts on a1 every other call of its own.
    await serve(policy, 17);
    expect(await policy.ejections()).toBe(1);
    const before = on('a1');
    await serve(policy, 1);
    expect(on('a1')).toBe(before + 1);
    await serve(policy, 40);
    expect(on('a1')).toBe(2 * COCKATIEL_CONSECUTIVE_FAILURES);
    expect(await policy.ejections()).toBe(2);
  });

  it('opossum at its defaults: a first failure opens it; 30 s later one trial call', async () => {
    const policy = make('opossum', 1);
    answers.a1 = 'refused';
    await serve(policy, 1);
    expect(await policy.ejections()).toBe(1);
    await serve(policy, 20);
    expect(on('a1')).toBe(1);
    jest.advanceTimersByTime(29_999);
    await serve(policy, 2);
    expect(on('a1')).toBe(1);
    jest.advanceTimersByTime(1);
    await serve(policy, 4);
    expect(on('a1')).toBe(2);
    expect(await policy.ejections()).toBe(2);
  });

  it('opossum at its defaults: opens once failures pass half of the window`s calls', async () => {
    const policy = make('opossum', 1);
    // a1 serves 6 calls, then refuses: 7 failures out of 13 calls are more than 50 %.
    await serve(policy, 12);
    expect(on('a1')).toBe(6);
    answers.a1 = 'refused';
    await serve(policy, 60);
    expect(on('a1')).toBe(6 + 7);
    expect(await policy.ejections()).toBe(1);
  });

  it.each<BreakerLibrary>(['cockatiel', 'opossum'])(
    '%s: a 400 is the caller`s fault — not counted, not retried',
    async (library) => {
      const policy = make(library, 1);
      answers.a1 = 'client-error';
      const records = await serve(policy, 40);
      expect(on('a1')).toBe(20);
      expect(await policy.ejections()).toBe(0);
      expect(records.every((r) => r.attempts.length === 1)).toBe(true);
    },
  );

  it.each<BreakerLibrary>(['cockatiel', 'opossum'])(
    '%s: with the whole tier open it goes down the tiers; nothing left is a refusal',
    async (library) => {
      const policy = make(library, 1, [spec('t1', 'chat', { priority: 10 }), spec('u1', 'chat', { priority: 0 })]);
      answers = { t1: 'server-error', u1: 'server-error' };
      const records = await serve(policy, 20);
      expect(on('t1')).toBeLessThan(20);
      expect(records.at(-1)).toMatchObject({ attempts: [], refusals: 1 });
    },
  );

  it.each<BreakerLibrary>(['cockatiel', 'opossum'])('%s: close() leaves no timer behind', async (library) => {
    const policy = make(library, 3);
    answers.a1 = 'timeout';
    await serve(policy, 10);
    await policy.close?.();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('litellm', () => {
  const three = scenarioOf([spec('a1'), spec('a2'), spec('a3')], ['backup']);
  const withBackup = scenarioOf([spec('a1'), spec('a2'), spec('a3'), spec('b1', 'backup')], ['backup']);
  const others: Choice[] = [{ businessId: 'a2' }, { businessId: 'a3' }];
  const attempt = (outcome: Outcome, atMs: number, retryAfterMs?: number): Attempt => ({
    businessId: 'a1',
    atMs,
    durationMs: 0,
    outcome,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
  const learn = async (policy: Policy, outcomes: Outcome[], fromMs = 0): Promise<void> => {
    for (const [i, outcome] of outcomes.entries())
      await policy.learn({ businessId: 'a1' }, attempt(outcome, fromMs + i), 'full');
  };
  /** Whether a1 can be chosen at `atMs` (the other two excluded). */
  const usable = async (policy: Policy, atMs: number): Promise<boolean> =>
    (await policy.choose(atMs, others))?.businessId === 'a1';
  const times = (n: number, outcome: Outcome): Outcome[] => Array.from({ length: n }, () => outcome);

  it('cools a deployment down once more than half of this minute`s calls failed, with at least 5 calls', async () => {
    const policy = litellm(three);
    await learn(policy, times(LITELLM_MINIMUM_REQUESTS - 1, 'server-error'));
    expect(await usable(policy, 10)).toBe(true);
    expect(await policy.ejections()).toBe(0);
    await learn(policy, ['server-error'], 4);
    expect(await usable(policy, 10)).toBe(false);
    expect(await policy.ejections()).toBe(1);
  });

  it('weighs the failures against the successes of the minute', async () => {
    const policy = litellm(three);
    await learn(policy, [...times(5, 'ok'), ...times(5, 'server-error')]);
    expect(await usable(policy, 20)).toBe(true);
    await learn(policy, ['server-error'], 10);
    expect(await usable(policy, 20)).toBe(false);
  });

  it('counts in 60 s windows opened by the first count', async () => {
    const policy = litellm(three);
    await learn(policy, times(4, 'server-error'));
    await learn(policy, ['server-error'], 60_004);
    expect(await usable(policy, 60_010)).toBe(true);
  });

  it('the cool-down lasts cooldown_time (5 s), then the deployment is back', async () => {
    const policy = litellm(three);
    await learn(policy, times(5, 'server-error'));
    expect(await usable(policy, 4 + LITELLM_COOLDOWN_TIME_MS)).toBe(false);
    expect(await usable(policy, 5 + LITELLM_COOLDOWN_TIME_MS)).toBe(true);
  });

  it('a 429 cools down at once, for its Retry-After when it has one', async () => {
    const policy = litellm(three);
    await policy.learn({ businessId: 'a1' }, attempt('rate-limited', 0, 2_000), 'full');
    expect(await usable(policy, 1_999)).toBe(false);
    expect(await usable(policy, 2_001)).toBe(true);
    await policy.learn({ businessId: 'a1' }, attempt('rate-limited', 3_000), 'full');
    expect(await usable(policy, 3_000 + LITELLM_COOLDOWN_TIME_MS)).toBe(false);
    expect(await policy.ejections()).toBe(2);
  });

  it('never cools down on connection errors, nor on 400s — which still count as failures', async () => {
    const policy = litellm(three);
    await learn(policy, [...times(50, 'refused'), ...times(50, 'reset'), ...times(50, 'client-error')]);
    expect(await usable(policy, 200)).toBe(true);
    expect(await policy.ejections()).toBe(0);
    await learn(policy, ['server-error'], 150);
    expect(await usable(policy, 200)).toBe(false);
  });

  it('timeouts cool down by the failure rate', async () => {
    const policy = litellm(three);
    await learn(policy, times(5, 'timeout'));
    expect(await usable(policy, 10)).toBe(false);
  });

  it('never cools down the only deployment of a model group on its failure rate or a 429', async () => {
    const policy = litellm(scenarioOf([spec('a1')]));
    await learn(policy, [...times(100, 'server-error'), 'rate-limited']);
    expect((await policy.choose(200, []))?.businessId).toBe('a1');
    expect(await policy.ejections()).toBe(0);
  });

  it('falls back to the next model group once every deployment of the first is cooling down', async () => {
    const policy = litellm(withBackup);
    for (const id of ['a1', 'a2', 'a3'])
      await policy.learn({ businessId: id }, { ...attempt('rate-limited', 0), businessId: id }, 'full');
    expect((await policy.choose(10, []))?.businessId).toBe('b1');
    expect((await policy.choose(LITELLM_COOLDOWN_TIME_MS + 1, []))?.businessId).not.toBe('b1');
  });

  it('shuffles deterministically given a seed, in proportion to the weights', async () => {
    const weighted = scenarioOf([spec('a1', 'chat', { weight: 3 }), spec('a2', 'chat', { weight: 1 })]);
    const draws = async (seed: number): Promise<string[]> => {
      const policy = litellm(weighted, { seed });
      const picks: string[] = [];
      for (let i = 0; i < 4000; i++) picks.push((await policy.choose(i, []))!.businessId);
      return picks;
    };
    const first = await draws(7);
    expect(await draws(7)).toEqual(first);
    expect(await draws(8)).not.toEqual(first);
    const share = first.filter((id) => id === 'a1').length / first.length;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
  });
});

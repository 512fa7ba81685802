import { readRoutingParams } from '../registry/routing-params';
import { MemoryCounterStore, RollingSum } from '../state/counter-store';
import { MemoryEventBus } from '../state/event-bus';
import { QuotaService, retryAfterFromMessage } from './quota.service';

const ID = 'a'.repeat(32);
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);

describe('RollingSum', () => {
  it('holds a minute of 1 s buckets and says when the sum drops to a target', () => {
    const sum = new RollingSum();
    sum.add(T0, 5, T0);
    sum.add(T0 + 1500, 3, T0 + 1500);
    expect(sum.total(T0 + 1500)).toBe(8);
    expect(sum.msUntilAtMost(T0 + 1500, 3)).toBe(60_000 - 1500); // the first second leaves at T0 + 60 s
    expect(sum.msUntilAtMost(T0 + 1500, 0)).toBe(61_000 - 1500);
    expect(sum.total(T0 + 60_000)).toBe(3);
    expect(sum.total(T0 + 61_000)).toBe(0);
  });

  it('a correction lands in the second of the reservation, and is dropped once that second left the window', () => {
    const sum = new RollingSum();
    sum.add(T0, 1000, T0);
    sum.add(T0, -400, T0 + 30_000);
    expect(sum.total(T0 + 30_000)).toBe(600);
    sum.add(T0, 500, T0 + 61_000); // too late: nothing holds it
    expect(sum.total(T0 + 61_000)).toBe(0);
  });
});

describe('QuotaService (docs/resilience.md §3)', () => {
  const setup = () => new QuotaService(new MemoryCounterStore(), new MemoryEventBus());

  it('publishes quota.exhausted once per instance, limit and minute, not per refused check', () => {
    const events = new MemoryEventBus();
    const heard: unknown[] = [];
    events.subscribe('quota.exhausted', (event) => heard.push(event));
    const quotas = new QuotaService(new MemoryCounterStore(), events);
    const params = readRoutingParams({ rpmLimit: 2, tpmLimit: 1000 });
    quotas.recordDecision(ID, params, T0, 600);
    quotas.recordDecision(ID, params, T0, 600);
    expect(heard).toEqual([]);
    // A read of the monitoring views sees the limit reached and raises nothing: nobody was refused.
    expect(quotas.check(ID, params, T0)).toBeDefined();
    expect(heard).toEqual([]);
    for (let i = 0; i < 10; i++) expect(quotas.check(ID, params, T0 + i, 0, true)).toBeDefined();
    expect(heard).toEqual([{ type: 'quota.exhausted', instanceId: ID, limit: 'rpm', value: 2, at: T0 }]);
    expect(quotas.check(ID, params, T0 + 59_999, 0, true)).toBeDefined();
    expect(heard).toHaveLength(1);
    // The decisions left the window, the limit is reached again a minute after the first alert: one more.
    quotas.recordDecision(ID, params, T0 + 61_000, 0);
    quotas.recordDecision(ID, params, T0 + 61_000, 0);
    expect(quotas.check(ID, params, T0 + 61_000, 0, true)).toBeDefined();
    expect(heard).toHaveLength(2);
    // TPM is alerted on its own.
    const tokens = readRoutingParams({ tpmLimit: 1000 });
    quotas.recordDecision(ID, tokens, T0 + 62_000, 900);
    expect(quotas.check(ID, tokens, T0 + 62_000, 200, true)).toBeDefined();
    expect(quotas.check(ID, tokens, T0 + 62_001, 200, true)).toBeDefined();
    expect(heard[2]).toEqual({ type: 'quota.exhausted', instanceId: ID, limit: 'tpm', value: 1000, at: T0 + 62_000 });
    expect(heard).toHaveLength(3);
  });

  it('forgets a deleted instance’s alert window with its counters', () => {
    const events = new MemoryEventBus();
    const heard: unknown[] = [];
    events.subscribe('quota.exhausted', (event) => heard.push(event));
    const quotas = new QuotaService(new MemoryCounterStore(), events);
    const params = readRoutingParams({ rpmLimit: 1 });
    quotas.recordDecision(ID, params, T0);
    quotas.check(ID, params, T0, 0, true);
    quotas.forget(ID);
    quotas.recordDecision(ID, params, T0 + 1);
    quotas.check(ID, params, T0 + 1, 0, true);
    expect(heard).toHaveLength(2);
  });

  it('rpmLimit: exactly 60 decisions per rolling minute, then a correct retryAt', () => {
    const quotas = setup();
    const params = readRoutingParams({ rpmLimit: 60 });
    let now = T0;
    let admitted = 0;
    for (let i = 0; i < 100; i++, now += 500) {
      if (quotas.check(ID, params, now) === undefined) {
        quotas.recordDecision(ID, params, now);
        admitted++;
      }
    }
    expect(admitted).toBe(60); // 100 attempts over 50 s
    const why = quotas.check(ID, params, now);
    expect(why).toEqual({ kind: 'quota', reason: 'rpmLimit 60 reached', retryAt: T0 + 60_000 });
    expect(quotas.check(ID, params, T0 + 60_000)).toBeUndefined(); // the first second's 2 decisions left
  });

  it('tpmLimit: reserves the estimate, corrects it by the report', () => {
    const quotas = setup();
    const params = readRoutingParams({ tpmLimit: 10_000 });
    quotas.recordDecision(ID, params, T0, 8000);
    expect(quotas.check(ID, params, T0, 3000)).toMatchObject({ kind: 'quota', retryAt: T0 + 60_000 });
    expect(quotas.check(ID, params, T0, 2000)).toBeUndefined();
    quotas.settleTokens(ID, params, { reservedAt: T0, reserved: 8000, used: 5000 }, T0 + 2000);
    expect(quotas.snapshot(ID, params, T0 + 2000).tpm).toEqual({ limit: 10_000, used: 5000 });
    expect(quotas.check(ID, params, T0 + 2000, 3000)).toBeUndefined();
  });

  it('a request larger than the whole TPM limit still goes through alone', () => {
    const quotas = setup();
    const params = readRoutingParams({ tpmLimit: 100 });
    expect(quotas.check(ID, params, T0, 500)).toBeUndefined();
  });

  it('keeps no counters for limits an instance does not have', () => {
    const quotas = setup();
    const params = readRoutingParams({});
    quotas.recordDecision(ID, params, T0, 800);
    expect(quotas.snapshot(ID, readRoutingParams({ rpmLimit: 1, tpmLimit: 1 }), T0)).toMatchObject({
      rpm: { used: 0 },
      tpm: { used: 0 },
    });
  });

  it('RATE_LIMITED cools down until Retry-After, default 5 s, capped at 60 s, extended by a repeat', () => {
    const quotas = setup();
    const params = readRoutingParams({});
    expect(quotas.coolDown(ID, T0, undefined)).toBe(T0 + 5000);
    expect(quotas.check(ID, params, T0 + 1000)).toEqual({
      kind: 'cooldown',
      reason: 'cooling down after RATE_LIMITED for 4000 ms more',
      retryAt: T0 + 5000,
    });
    expect(quotas.coolDown(ID, T0 + 3000, undefined)).toBe(T0 + 8000); // a second 429 extends it
    expect(quotas.coolDown(ID, T0 + 4000, 1000)).toBe(T0 + 8000); // never shortens it
    expect(quotas.coolDown(ID, T0 + 4000, 3_600_000)).toBe(T0 + 64_000); // capped at 60 s
    expect(quotas.check(ID, params, T0 + 64_000)).toBeUndefined();
  });

  it('project settings set the default and the cap of cool-downs', () => {
    const quotas = setup();
    expect(quotas.coolDown(ID, T0, undefined, { rateLimitCooldownMs: 2000 })).toBe(T0 + 2000);
    expect(quotas.coolDown('b'.repeat(32), T0, 50_000, { maxRateLimitCooldownMs: 10_000 })).toBe(T0 + 10_000);
  });

  it('forgets a deleted instance when the deletion is announced, and stops listening once destroyed', () => {
    const events = new MemoryEventBus();
    const quotas = new QuotaService(new MemoryCounterStore(), events);
    quotas.onModuleInit();
    const params = readRoutingParams({ rpmLimit: 1 });
    quotas.recordDecision(ID, params, T0);
    quotas.coolDown(ID, T0, 10_000);
    events.publish({ type: 'instances.deleted', projectId: 'p', instanceIds: [ID] });
    expect(quotas.check(ID, params, T0)).toBeUndefined();
    quotas.onModuleDestroy();
    quotas.recordDecision(ID, params, T0);
    events.publish({ type: 'instances.deleted', projectId: 'p', instanceIds: [ID] });
    expect(quotas.check(ID, params, T0)).toMatchObject({ kind: 'quota' });
  });

  it('tpmLimit: says how much was used and wanted, and when the estimate would fit', () => {
    const quotas = setup();
    const params = readRoutingParams({ tpmLimit: 1000 });
    quotas.recordDecision(ID, params, T0, 600);
    quotas.recordDecision(ID, params, T0 + 30_000, 300);
    expect(quotas.check(ID, params, T0 + 30_000, 200)).toEqual({
      kind: 'quota',
      reason: 'tpmLimit 1000 reached (900 used, 200 wanted)',
      retryAt: T0 + 60_000, // the first 600 leave: 300 + 200 fit
    });
    // A decision without an estimate reserves nothing.
    quotas.recordDecision(ID, params, T0 + 30_000, 0);
    expect(quotas.snapshot(ID, params, T0 + 30_000).tpm.used).toBe(900);
  });

  it('settles only what differs from the reservation, and nothing without a limit or a reported usage', () => {
    const quotas = setup();
    const params = readRoutingParams({ tpmLimit: 10_000 });
    quotas.recordDecision(ID, params, T0, 1000);
    quotas.settleTokens(ID, params, { reservedAt: T0, reserved: 1000, used: undefined }, T0 + 1000);
    expect(quotas.snapshot(ID, params, T0 + 1000).tpm.used).toBe(1000);
    quotas.settleTokens(ID, params, { reservedAt: T0, reserved: 1000, used: 1000 }, T0 + 1000);
    expect(quotas.snapshot(ID, params, T0 + 1000).tpm.used).toBe(1000);
    quotas.settleTokens(ID, params, { reservedAt: T0, reserved: 1000, used: 1500 }, T0 + 1000);
    expect(quotas.snapshot(ID, params, T0 + 1000).tpm.used).toBe(1500);
    const unlimited = readRoutingParams({});
    quotas.settleTokens(ID, unlimited, { reservedAt: T0, reserved: 0, used: 700 }, T0 + 1000);
    expect(quotas.snapshot(ID, params, T0 + 1000).tpm.used).toBe(1500);
  });

  it('never frees TPM capacity on a decision: a negative estimate reserves nothing', () => {
    const quotas = setup();
    const params = readRoutingParams({ tpmLimit: 1000 });
    quotas.recordDecision(ID, params, T0, 900);
    quotas.recordDecision(ID, params, T0 + 1000, -800);
    expect(quotas.snapshot(ID, params, T0 + 1000).tpm.used).toBe(900);
    expect(quotas.check(ID, params, T0 + 1000, 500)).toMatchObject({ kind: 'quota' });
  });

  it('forgets a deleted instance', () => {
    const quotas = setup();
    const params = readRoutingParams({ rpmLimit: 1 });
    quotas.recordDecision(ID, params, T0);
    quotas.coolDown(ID, T0, 10_000);
    quotas.forget(ID);
    expect(quotas.check(ID, params, T0)).toBeUndefined();
  });
});

describe('retryAfterFromMessage', () => {
  it.each([
    [
      'Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 6 seconds.',
      6000,
    ],
    ['Rate limit reached for gpt-4o on tokens per min (TPM). Please try again in 1.5s.', 1500],
    ['Rate limit reached for requests. Please try again in 120ms.', 120],
    ['429 Too Many Requests; Retry-After: 20', 20_000],
    ['rate limited, retry in 2 minutes', 120_000],
    ['Retry after 1 min', 60_000],
    ['Retry-After: 250 milliseconds', 250],
    ['RETRY AFTER 3 SECONDS', 3000],
    ['Please retry after 2 sec', 2000],
    // Moonshot's rate-limit body (platform.kimi.com/docs/api/errors).
    ['Your account org-1 request reached max request: 3, please try again after 1 seconds', 1000],
    [`${'x'.repeat(2040)} retry after 9 seconds`, undefined], // past the first 2048 characters
    [`${'x'.repeat(2020)} retry after 9 seconds`, 9000],
    ['Rate limit exceeded', undefined],
    [`Please retry after ${'9'.repeat(400)} seconds`, undefined], // junk too large to be a number: no Retry-After
    [undefined, undefined],
  ])('%s → %s', (message, expected) => {
    expect(retryAfterFromMessage(message)).toBe(expected);
  });
});

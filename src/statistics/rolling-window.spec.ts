import { isAmount, RollingWindow } from './rolling-window';
import type { OutcomeClass } from '../common/outcome';

const T0 = Date.UTC(2026, 0, 1); // a whole second, so bucket boundaries fall on round offsets

describe('RollingWindow', () => {
  it('rejects a malformed sample without counting it, but accepts one that is merely late', () => {
    const window = new RollingWindow();
    expect(window.add({ at: NaN, outcome: 'SUCCESS' })).toBe(false);
    expect(window.add({ at: T0, outcome: 'BOGUS' as OutcomeClass })).toBe(false);
    expect(window.add({ at: T0 + 120_000, outcome: 'SUCCESS' })).toBe(true);
    expect(window.add({ at: T0, outcome: 'SUCCESS' })).toBe(true); // older than the window
    expect([window.calls, window.successes, window.failures]).toEqual([1, 1, 0]);
  });

  it('subtracts an evicted bucket from the totals and leaves an emptied window at exactly zero', () => {
    const window = new RollingWindow();
    for (let s = 0; s < 10; s++) window.add({ at: T0 + s * 1000, outcome: 'TIMEOUT', cost: 0.1, totalTokens: 3 });
    window.advanceTo(T0 + 65_000);
    expect(window.snapshot()).toMatchObject({ calls: 4, failures: 4, totalTokens: 12 });
    expect(window.snapshot().cost).toBeCloseTo(0.4, 12);
    window.advanceTo(T0 + 69_000);
    expect(window.snapshot()).toMatchObject({ calls: 0, failures: 0, totalTokens: 0, cost: 0 });
  });

  it('ignores a clock that goes backwards', () => {
    const window = new RollingWindow();
    window.add({ at: T0 + 30_000, outcome: 'RATE_LIMITED' });
    window.advanceTo(T0);
    window.advanceTo(NaN);
    expect(window.snapshot().byOutcome).toMatchObject({ RATE_LIMITED: 1, SUCCESS: 0 });
  });

  it('counts several reports at once as if each was added, and evicts them together', () => {
    const batched = new RollingWindow();
    const one = new RollingWindow();
    batched.addCounts(T0 + 500, { SUCCESS: 3, TIMEOUT: 2, CLIENT_ERROR: 1 }, { totalTokens: 60, cost: 0.5 });
    for (const outcome of ['SUCCESS', 'SUCCESS', 'SUCCESS', 'TIMEOUT', 'TIMEOUT', 'CLIENT_ERROR'] as const) {
      one.add({ at: T0 + 500, outcome, totalTokens: 10, cost: 0.5 / 6 });
    }
    expect(batched.snapshot()).toEqual({ ...one.snapshot(), cost: batched.snapshot().cost });
    expect(batched.snapshot().cost).toBeCloseTo(one.snapshot().cost, 12);
    batched.advanceTo(T0 + 60_000);
    expect(batched.snapshot()).toMatchObject({ calls: 0, failures: 0, totalTokens: 0, cost: 0 });
  });

  it('ignores counts from another node that are not amounts or name no outcome class', () => {
    const window = new RollingWindow();
    window.addCounts(T0, { SUCCESS: NaN, TIMEOUT: -1, BOGUS: 4 }, { totalTokens: 100 });
    window.addCounts(NaN, { SUCCESS: 1 }, {});
    expect(window.snapshot()).toMatchObject({ calls: 0, totalTokens: 0 });
    window.addCounts(T0, { SUCCESS: 2, UNKNOWN: Infinity }, { promptTokens: NaN });
    expect(window.snapshot()).toMatchObject({ calls: 2, successes: 2, failures: 0, promptTokens: 0 });
    window.addCounts(T0 - 61_000, { SUCCESS: 5 }, {}); // older than the window
    expect(window.calls).toBe(2);
  });

  it('treats only finite amounts ≥ 0 as amounts', () => {
    expect([0, 1.5, 1e300].map(isAmount)).toEqual([true, true, true]);
    expect([undefined, -1, NaN, Infinity].map(isAmount)).toEqual([false, false, false, false]);
  });
});

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

  it('treats only finite amounts ≥ 0 as amounts', () => {
    expect([0, 1.5, 1e300].map(isAmount)).toEqual([true, true, true]);
    expect([undefined, -1, NaN, Infinity].map(isAmount)).toEqual([false, false, false, false]);
  });
});

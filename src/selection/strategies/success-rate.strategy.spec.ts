import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import { SuccessRateStrategy } from './success-rate.strategy';

describe('SuccessRateStrategy', () => {
  const run = (list: ReturnType<typeof candidates>): number[] => {
    const strategy = new SuccessRateStrategy();
    const random = mulberry32(4);
    return tally(list, 2_000, () => strategy.pick(list, context({ random })));
  };

  it('always prefers the higher success rate, even when it is slower', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, [10, 1, 5][i], [50, 900, 50][i]) }));
    expect(run(list)).toEqual([0, 2_000, 0]);
  });

  it('smooths: more evidence of success beats less, an unseen instance is neutral', () => {
    const list = candidates(3, (i) => ({ stats: [observed(1, 0, 100), observed(10, 0, 100), {}][i] }));
    const strategy = new SuccessRateStrategy();
    expect(run(list)).toEqual([0, 2_000, 0]);
    expect(strategy.score(list[2])).toBe(0.5);
  });

  it('does not count client errors or rate limits against the backend', () => {
    // 50 calls that were neither success nor failure (e.g. 4xx): 50/50 health outcomes succeeded.
    const [clientErrors, someFailures] = candidates(2, (i) => ({
      stats: i === 0 ? { calls: 100, successes: 50, failures: 0 } : observed(100, 10, 100),
    }));
    const strategy = new SuccessRateStrategy();
    expect(strategy.score(clientErrors)).toBeCloseTo(51 / 52, 12);
    expect(strategy.score(clientErrors)).toBeGreaterThan(strategy.score(someFailures));
  });

  it('breaks rate ties by lower latency, then at random', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, 2, i === 0 ? 400 : 100) }));
    const [slower, a, b] = run(list);
    expect(slower).toBe(0);
    expect(Math.abs(a - b)).toBeLessThan(150);
  });
});

import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import { LeastLatencyStrategy } from './least-latency.strategy';

describe('LeastLatencyStrategy', () => {
  const run = (list: ReturnType<typeof candidates>): number[] => {
    const strategy = new LeastLatencyStrategy();
    const random = mulberry32(3);
    return tally(list, 2_000, () => strategy.pick(list, context({ random })));
  };

  it('always prefers the lowest peak-EWMA latency', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, 0, [300, 100.5, 101][i]) }));
    expect(run(list)).toEqual([0, 2_000, 0]);
  });

  it('breaks exact ties at random, so unseen instances share the traffic', () => {
    const list = candidates(3, (i) => ({ stats: i === 2 ? observed(10, 0, 1500) : {} }));
    const [first, second, slower] = run(list);
    expect(slower).toBe(0);
    expect(Math.abs(first - second)).toBeLessThan(150);
  });

  it('scores the negated latency, so that higher is better', () => {
    const [fast, slow] = candidates(2, (i) => ({ stats: observed(10, 0, i === 0 ? 50 : 500) }));
    const strategy = new LeastLatencyStrategy();
    expect(strategy.score(fast)).toBe(-50);
    expect(strategy.score(fast)).toBeGreaterThan(strategy.score(slow));
  });
});

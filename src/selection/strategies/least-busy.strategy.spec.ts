import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import { LeastBusyStrategy } from './least-busy.strategy';

describe('LeastBusyStrategy (power of two choices)', () => {
  const PICKS = 10_000;
  const run = (list: ReturnType<typeof candidates>): number[] => {
    const strategy = new LeastBusyStrategy();
    const random = mulberry32(5);
    return tally(list, PICKS, () => strategy.pick(list, context({ random })));
  };

  it('gives the least busy of 3 the pairs it is drawn in (2/3), the middle 1/3, the busiest none', () => {
    const list = candidates(3, (i) => ({ stats: { ...observed(50, 0, 100), openLeases: [7, 0, 3][i] } }));
    const [busiest, least, middle] = run(list).map((count) => count / PICKS);
    expect(busiest).toBe(0); // it loses every pair, and is never paired with itself
    expect(Math.abs(least - 2 / 3)).toBeLessThan(0.02);
    expect(Math.abs(middle - 1 / 3)).toBeLessThan(0.02);
  });

  it('with two candidates, always draws both, so the less busy always wins', () => {
    const list = candidates(2, (i) => ({ stats: { openLeases: i } }));
    expect(run(list)).toEqual([PICKS, 0]);
  });

  it('breaks a lease tie by lower latency', () => {
    const list = candidates(2, (i) => ({ stats: { ...observed(10, 0, i === 0 ? 500 : 80), openLeases: 2 } }));
    expect(run(list)).toEqual([0, PICKS]);
  });

  it('on equal leases and latency, the first drawn wins', () => {
    const list = candidates(3, () => ({ stats: { ...observed(10, 0, 120), openLeases: 1 } }));
    const strategy = new LeastBusyStrategy();
    // Draws: first = ⌊0.9 × 3⌋ = 2, then ⌊0 × 2⌋ = 0 among the others (index 0).
    const draws = [0.9, 0];
    let k = 0;
    expect(strategy.pick(list, context({ random: () => draws[k++] }))).toBe(list[2]);
  });

  it('scores the negated open leases, so that higher is better', () => {
    const [busy] = candidates(1, () => ({ stats: { openLeases: 4 } }));
    expect(new LeastBusyStrategy().score(busy)).toBe(-4);
  });
});

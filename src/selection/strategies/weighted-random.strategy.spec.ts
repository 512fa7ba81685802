import { candidates, context, mulberry32, tally } from '../../../test/contracts/candidates';
import { WeightedRandomStrategy } from './weighted-random.strategy';

describe('WeightedRandomStrategy', () => {
  // 100k picks: at 10k, a 5 % relative error on the smallest share (10 %) is only ~1.7 σ, and
  // about one seed in ten would fail a correct implementation.
  const PICKS = 100_000;
  const shares = (list: ReturnType<typeof candidates>, seed = 1): number[] => {
    const strategy = new WeightedRandomStrategy();
    const random = mulberry32(seed);
    return tally(list, PICKS, () => strategy.pick(list, context({ random }))).map((count) => count / PICKS);
  };

  it('respects weights within 5 % (relative) over 100k picks', () => {
    const weights = [1, 2, 3, 4];
    const list = candidates(4, (i) => ({ routingParams: { weight: weights[i] } }));
    shares(list).forEach((share, i) => {
      const expected = weights[i] / 10;
      expect(Math.abs(share - expected) / expected).toBeLessThan(0.05);
    });
  });

  it('reads the initial_weight alias and counts an unset weight as 1', () => {
    const list = candidates(3, (i) => ({ routingParams: [{ initial_weight: 2 }, {}, { weight: 1 }][i] }));
    const [aliased, unset, one] = shares(list);
    expect(Math.abs(aliased - 0.5) / 0.5).toBeLessThan(0.05);
    expect(Math.abs(unset - 0.25) / 0.25).toBeLessThan(0.05);
    expect(Math.abs(one - 0.25) / 0.25).toBeLessThan(0.05);
  });

  it('never picks a zero weight, unless every weight is zero: then uniformly', () => {
    const some = candidates(3, (i) => ({ routingParams: { weight: i === 0 ? 0 : 1 } }));
    expect(shares(some)[0]).toBe(0);
    const none = candidates(4, () => ({ routingParams: { weight: 0 } }));
    for (const share of shares(none)) expect(Math.abs(share - 0.25)).toBeLessThan(0.02);
  });

  it('returns a lone candidate as is, without drawing a random number', () => {
    const [only] = candidates(1, () => ({ routingParams: { weight: 3 } }));
    const random = () => {
      throw new Error('no draw expected');
    };
    expect(new WeightedRandomStrategy().pick([only], context({ random }))).toBe(only);
  });

  it('multiplies the weight by the slow-start factor', () => {
    const list = candidates(2, (i) => ({ stats: { slowStartFactor: i === 0 ? 0.1 : 1 } }));
    const [warming] = shares(list);
    expect(Math.abs(warming - 0.1 / 1.1)).toBeLessThan(0.01);
    expect(new WeightedRandomStrategy().score(list[0])).toBeCloseTo(0.1, 12);
  });
});

import { FakeClock } from '../../common/clock';
import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import { EXPLORE, NEAR_BEST, SmartStrategy, smartScore } from './smart.strategy';

describe('SmartStrategy', () => {
  const clock = new FakeClock();
  const run = (list: ReturnType<typeof candidates>, picks = 10_000, seed = 1): number[] => {
    const strategy = new SmartStrategy();
    const random = mulberry32(seed);
    return tally(list, picks, () => strategy.pick(list, context({ random, clock })));
  };

  it('scores by the documented formula; an unseen, idle instance is neutral', () => {
    const [unseen] = candidates(1);
    expect(smartScore(unseen)).toBeCloseTo((0.5 * 0.5) / (1 + 1000 / 10), 12);
    const [busyCostly] = candidates(1, () => ({
      stats: { ...observed(8, 0, 90), openLeases: 3, slowStartFactor: 0.5 },
      routingParams: { costPerUnit: 1 },
    }));
    expect(smartScore(busyCostly)).toBeCloseTo((0.9 * 0.9 * 0.5) / ((1 + 9) * 4 * 2), 12);
    expect(new SmartStrategy().score(busyCostly)).toBe(smartScore(busyCostly));
  });

  /** Each candidate's share over a uniform grid of draws: the exact weights, to 1 / `draws`. */
  const exactShares = (list: ReturnType<typeof candidates>, draws = 100_000): number[] => {
    const strategy = new SmartStrategy();
    let k = 0;
    const random = () => (k++ + 0.5) / draws;
    return tally(list, draws, () => strategy.pick(list, context({ random, clock }))).map((count) => count / draws);
  };

  it('weighs near-equals by score and splits 1 % of the best among those below the band (exact shares)', () => {
    const list = candidates(5, (i) => ({
      stats: [
        observed(100, 0, 200), // the best
        observed(100, 0, 215), // within 10 % of it
        observed(100, 40, 200), // failing: below the band
        observed(100, 60, 200), // failing more: below the band too
        { ...observed(100, 0, 200), slowStartFactor: 0 }, // recovered this instant: a share of 0
      ][i],
    }));
    const [best, near] = list.map(smartScore);
    expect(near / best).toBeGreaterThan(NEAR_BEST);
    const explore = (best * EXPLORE) / 2;
    const total = best + near + 2 * explore;
    const shares = exactShares(list);
    const want = [best / total, near / total, explore / total, explore / total, 0];
    shares.forEach((share, i) => expect(Math.abs(share - want[i])).toBeLessThan(2e-5));
  });

  it('explores even the slowest possible instance a little, and splits evenly between equals (exact shares)', () => {
    const list = candidates(3, (i) => ({
      stats: [observed(100, 0, 200), observed(100, 0, 200), { ...observed(100, 0, 200), latencyMs: Infinity }][i],
    }));
    const shares = exactShares(list);
    expect(smartScore(list[2])).toBeGreaterThan(0); // the slowest possible, still above 0
    expect(shares[2]).toBeGreaterThan(0);
    expect(shares[2]).toBeLessThan(0.01);
    const two = candidates(2, () => ({ stats: observed(100, 0, 200) }));
    expect(exactShares(two)).toEqual([0.5, 0.5]);
  });

  it('sends a failing instance only the exploration share while healthy ones are near-equal otherwise', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, i === 1 ? 40 : 1, 200) }));
    const [healthyA, failing, healthyB] = run(list);
    // Two near-equals of weight ≈ best each; the failing one shares EXPLORE × best.
    expect(Math.abs(failing / 10_000 - EXPLORE / (2 + EXPLORE))).toBeLessThan(0.01);
    expect(healthyA + healthyB).toBe(10_000 - failing);
  });

  it('avoids a slow instance, a busy one and a costly one: together they get the exploration share', () => {
    const list = candidates(4, (i) => ({
      stats: { ...observed(100, 0, i === 1 ? 2_000 : 200), openLeases: i === 2 ? 4 : 0 },
      routingParams: i === 3 ? { costPerUnit: 2 } : {},
    }));
    const [best, ...others] = run(list);
    const explored = others.reduce((sum, count) => sum + count, 0);
    expect(Math.abs(explored / 10_000 - EXPLORE / (1 + EXPLORE))).toBeLessThan(0.01);
    expect(best).toBe(10_000 - explored);
  });

  it('gives an instance in slow start its ramp share of the best, whatever its stale history', () => {
    // Recovered: its window still holds the outage's failures, yet it gets factor / (1 + factor).
    for (const factor of [0.1, 0.5, 0.9]) {
      const list = candidates(2, (i) => ({
        stats: i === 0 ? observed(100, 0, 200) : { ...observed(3, 5, 5000), slowStartFactor: factor },
      }));
      const [, ramping] = run(list);
      expect(Math.abs(ramping / 10_000 - factor / (1 + factor))).toBeLessThan(0.02);
    }
  });

  it('explores an instance never reported at 10 % of the best, instead of starving it', () => {
    const list = candidates(2, (i) => ({ stats: i === 0 ? observed(100, 0, 100) : {} }));
    const [, unseen] = run(list);
    expect(Math.abs(unseen / 10_000 - 0.1 / 1.1)).toBeLessThan(0.02);
  });

  it('when every candidate is ramping, scores decide as usual', () => {
    const list = candidates(2, (i) => ({ stats: { ...observed(100, 0, i === 0 ? 100 : 1000), slowStartFactor: 0.5 } }));
    const [fast, slow] = run(list);
    expect(Math.abs(slow / 10_000 - EXPLORE / (1 + EXPLORE))).toBeLessThan(0.01);
    expect(fast).toBe(10_000 - slow);
  });

  it('spreads evenly among equals instead of flooding one', () => {
    const counts = run(candidates(4, () => ({ stats: observed(100, 2, 150) })));
    for (const count of counts) expect(Math.abs(count / 10_000 - 0.25)).toBeLessThan(0.02);
  });

  it('shares traffic among near-equals in proportion to score, and not beyond the band', () => {
    // 200 ms vs 210 ms is within 10 %; 260 ms is not.
    const list = candidates(3, (i) => ({ stats: observed(100, 0, [200, 210, 260][i]) }));
    const [fast, nearly, slow] = run(list);
    const best = smartScore(list[0]);
    const expected = smartScore(list[1]) / (best + smartScore(list[1]) + best * EXPLORE);
    expect(Math.abs(nearly / 10_000 - expected)).toBeLessThan(0.02);
    expect(fast).toBeGreaterThan(nearly);
    expect(Math.abs(slow / 10_000 - (best * EXPLORE) / (best + smartScore(list[1]) + best * EXPLORE))).toBeLessThan(
      0.01,
    );
    expect(smartScore(list[2]) / smartScore(list[0])).toBeLessThan(NEAR_BEST);
  });

  it('ignores a negative or unreadable cost instead of letting it raise the score', () => {
    const [free, negative, unreadable] = candidates(3, (i) => ({
      stats: observed(20, 0, 150),
      routingParams: [{}, { costPerUnit: -0.5 }, { costPerUnit: NaN }][i],
    }));
    expect(smartScore(negative)).toBe(smartScore(free));
    expect(smartScore(unreadable)).toBe(smartScore(free));
  });

  it('returns a lone candidate as is, without drawing a random number', () => {
    const [only] = candidates(1, () => ({ stats: observed(100, 0, 200) }));
    const random = () => {
      throw new Error('no draw expected');
    };
    expect(new SmartStrategy().pick([only], context({ random, clock }))).toBe(only);
  });

  it('gives a recovering instance its ramp share without thinning the exploration share of the settled ones (exact shares)', () => {
    const list = candidates(3, (i) => ({
      stats: [
        observed(100, 0, 200), // the best
        observed(100, 40, 200), // failing: below the band
        { ...observed(3, 5, 5000), slowStartFactor: 0.5 }, // recovering: its stale score is below the band too
      ][i],
    }));
    const best = smartScore(list[0]);
    expect(smartScore(list[2])).toBeGreaterThan(0);
    expect(smartScore(list[2])).toBeLessThan(best * NEAR_BEST);
    // The failing one alone shares EXPLORE × best; the recovering one gets 0.5 × best.
    const total = best * (1 + EXPLORE + 0.5);
    const want = [best / total, (best * EXPLORE) / total, (best * 0.5) / total];
    exactShares(list).forEach((share, i) => expect(Math.abs(share - want[i])).toBeLessThan(2e-5));
  });

  it('counts a candidate at exactly 90 % of the best as a near-equal (exact shares)', () => {
    // Never reported, so none is settled and scores decide; latency 0 keeps the scores exact.
    const list = candidates(3, (i) => ({ stats: { latencyMs: 0, slowStartFactor: [1, NEAR_BEST, 0.5][i] } }));
    const [best, atEdge] = list.map(smartScore);
    expect(atEdge).toBe(best * NEAR_BEST);
    // In the band: weighed by its score. The third alone shares EXPLORE × best.
    const total = best + atEdge + best * EXPLORE;
    const want = [best / total, atEdge / total, (best * EXPLORE) / total];
    exactShares(list).forEach((share, i) => expect(Math.abs(share - want[i])).toBeLessThan(2e-5));
  });

  it('when every candidate is ramping, one at a ramp of 0 gets nothing and leaves the exploration share whole (exact shares)', () => {
    const list = candidates(3, (i) => ({
      stats: { ...observed(100, 0, 200), slowStartFactor: [0.8, 0.3, 0][i] },
    }));
    const [best, below, zero] = list.map(smartScore);
    expect(below).toBeLessThan(best * NEAR_BEST);
    expect(zero).toBe(0);
    const total = best + best * EXPLORE;
    const want = [best / total, (best * EXPLORE) / total, 0];
    const shares = exactShares(list);
    shares.forEach((share, i) => expect(Math.abs(share - want[i])).toBeLessThan(2e-5));
    expect(shares[2]).toBe(0);
  });

  it('prefers a proven instance to an unseen one, and an unseen one to a failing one', () => {
    const list = candidates(3, (i) => ({ stats: [observed(50, 0, 800), {}, observed(50, 30, 800)][i] }));
    const [proven, unseen, failing] = list.map(smartScore);
    expect(proven).toBeGreaterThan(unseen);
    expect(unseen).toBeGreaterThan(failing);
  });
});

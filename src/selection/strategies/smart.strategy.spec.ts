import { FakeClock } from '../../common/clock';
import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import {
  EXPLORE_EVERY_MS,
  EXPLORE_MIN_PICKS,
  NEAR_BEST,
  SMART_MAX_POSITIONS,
  SMART_MAX_SETS,
  SmartStrategy,
  healthOf,
  shareWeight,
  smartLatencyOf,
  smartScore,
} from './smart.strategy';

describe('SmartStrategy', () => {
  /** `picks` picks by one strategy at a fixed instant (no exploration is due). */
  const run = (list: ReturnType<typeof candidates>, picks = 1000, seed = 1): number[] => {
    const strategy = new SmartStrategy();
    const clock = new FakeClock();
    const random = mulberry32(seed);
    return tally(list, picks, () => strategy.pick(list, context({ random, clock })));
  };

  it('scores by the documented formula; an unseen instance is at the neutral latency', () => {
    const [unseen] = candidates(1);
    expect(smartScore(unseen)).toBeCloseTo(1 / (1 + 1000 / 10), 12);
    const [busyCostly] = candidates(1, () => ({
      stats: { ...observed(10, 2, 90), openLeases: 3, slowStartFactor: 0.5 },
      routingParams: { costPerUnit: 1 },
    }));
    // Health (8 + 1) / (8 + 2 + 1); open leases and the ramp decide shares, not the score.
    expect(healthOf(busyCostly)).toBeCloseTo(9 / 11, 12);
    expect(smartScore(busyCostly)).toBeCloseTo((9 / 11) ** 4 / ((1 + 9) * 2), 12);
    expect(new SmartStrategy().score(busyCostly)).toBe(smartScore(busyCostly));
  });

  it('judges health by failures, not by how much traffic an instance already had', () => {
    const [little, much] = candidates(2, (i) => ({ stats: observed([2, 87][i], 0, 200) }));
    expect(healthOf(little)).toBe(1);
    expect(healthOf(much)).toBe(1);
    expect(run([little, much])).toEqual([500, 500]);
  });

  it('takes how long the oldest pending selection has waited as the latency when it is longer', () => {
    const [waiting, answered] = candidates(2, (i) => ({
      stats: { ...observed(10, 0, 20), unansweredMs: [150, 5][i] },
    }));
    expect(smartLatencyOf(waiting)).toBe(150);
    expect(smartLatencyOf(answered)).toBe(20);
    const [corrupt] = candidates(1, () => ({ stats: { ...observed(10, 0, 20), unansweredMs: Infinity } }));
    expect(smartLatencyOf(corrupt)).toBe(20);
    // 150 ms against 20 ms: out of the band, so it gets nothing until an exploration is due.
    expect(run([waiting, answered])).toEqual([0, 1000]);
  });

  it('deals near-equals exactly even shares and leaves those below the band out', () => {
    const list = candidates(4, (i) => ({
      stats: [
        observed(100, 0, 200), // the best
        observed(100, 0, 500), // (1 + 20) / (1 + 50) ≈ 0.41 of it: a near-equal
        observed(100, 0, 1000), // ≈ 0.2 of it: below the band
        observed(100, 30, 200), // health (70 + 1) / 101, to the fourth ≈ 0.24: below the band
      ][i],
    }));
    const [best, near, slow, failing] = list.map(smartScore);
    expect(near / best).toBeGreaterThan(NEAR_BEST);
    expect(slow / best).toBeLessThan(NEAR_BEST);
    expect(failing / best).toBeLessThan(NEAR_BEST);
    expect(run(list)).toEqual([500, 500, 0, 0]);
  });

  it('counts a candidate at exactly 40 % of the best as a near-equal', () => {
    // Never reported, so none is settled and scores decide; the cost divides the second's score by 2.5.
    const list = candidates(2, (i) => ({ stats: { latencyMs: 0 }, routingParams: [{}, { costPerUnit: 1.5 }][i] }));
    const [best, atEdge] = list.map(smartScore);
    expect(atEdge).toBe(best * NEAR_BEST);
    expect(run(list)).toEqual([500, 500]);
  });

  it('shares in proportion to weight, whatever the order of the calls', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, 0, 200), routingParams: { weight: [1, 2, 3][i] } }));
    expect(run(list, 600)).toEqual([100, 200, 300]);
    // A weight of 0 takes nothing while others can serve; all at 0, the best by score serves.
    const zero = candidates(2, (i) => ({
      stats: observed(100, 0, [200, 100][i]),
      routingParams: { weight: [1, 0][i] },
    }));
    expect(run(zero, 100)).toEqual([100, 0]);
    const allZero = candidates(2, (i) => ({ stats: observed(100, 0, [200, 100][i]), routingParams: { weight: 0 } }));
    expect(run(allZero, 100)).toEqual([0, 100]);
  });

  it('ignores open leases: a caller that never reports is not load', () => {
    const [idle, busy] = candidates(2, (i) => ({ stats: { ...observed(100, 0, 200), openLeases: [0, 30][i] } }));
    expect(shareWeight(busy, 1)).toBe(1);
    expect(run([idle, busy])).toEqual([500, 500]);
  });

  it('gives an instance in slow start its ramp share, whatever its stale history', () => {
    for (const factor of [0.1, 0.5, 0.9]) {
      const list = candidates(2, (i) => ({
        stats: i === 0 ? observed(100, 0, 200) : { ...observed(3, 5, 5000), slowStartFactor: factor },
      }));
      const [, ramping] = run(list);
      expect(Math.abs(ramping / 1000 - factor / (1 + factor))).toBeLessThan(0.002);
    }
  });

  it('gives an instance never reported 10 % of a settled one, instead of starving it', () => {
    const list = candidates(2, (i) => ({ stats: i === 0 ? observed(100, 0, 100) : {} }));
    const [, unseen] = run(list, 1100);
    expect(unseen).toBe(100);
  });

  it('when every candidate is ramping, scores decide as usual', () => {
    const list = candidates(2, (i) => ({ stats: { ...observed(100, 0, i === 0 ? 100 : 1000), slowStartFactor: 0.5 } }));
    expect(run(list)).toEqual([1000, 0]);
  });

  it('explores below the band once per 5 s, in turn from the one reported longest ago, at most one call in 10', () => {
    const list = candidates(4, (i) => ({
      stats: [
        observed(100, 0, 200),
        observed(100, 0, 200),
        { ...observed(100, 0, 2000), lastReportAt: 2000 },
        { ...observed(100, 0, 2000), lastReportAt: 1000 }, // the stalest
      ][i],
    }));
    const strategy = new SmartStrategy();
    const clock = new FakeClock();
    const random = mulberry32(1);
    // 100 calls a second for 60 s: 11 explorations (at 5, 10 … 55 s after the first call), all to the stalest.
    const busy = tally(list, 6000, () => {
      clock.advance(10);
      return strategy.pick(list, context({ random, clock }));
    });
    // In turn, the one reported longest ago first.
    expect(busy[3]).toBe(6);
    expect(busy[2]).toBe(60_000 / EXPLORE_EVERY_MS - 1 - 6);
    // One call every 10 s: never more than one call in EXPLORE_MIN_PICKS.
    const quiet = tally(list, 100, () => {
      clock.advance(10_000);
      return strategy.pick(list, context({ random, clock }));
    });
    expect(quiet[2] + quiet[3]).toBe(100 / EXPLORE_MIN_PICKS);
  });

  it('first explores an instance that just dropped out of the band 5 s later, not on the next call', () => {
    const healthy = observed(100, 0, 200);
    const list = candidates(2, () => ({ stats: healthy }));
    const strategy = new SmartStrategy();
    const clock = new FakeClock();
    const random = mulberry32(1);
    const pick = () => strategy.pick(list, context({ random, clock }));
    tally(list, 100, () => (clock.advance(1000), pick())); // 100 s with both in the band
    Object.assign(list[1].stats, { latencyMs: 5000 }); // drops out now
    const after = tally(list, 49, () => (clock.advance(100), pick()));
    expect(after[1]).toBe(0);
    clock.advance(100);
    expect(pick()).toBe(list[1]);
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
    expect(new SmartStrategy().pick([only], context({ random, clock: new FakeClock() }))).toBe(only);
  });

  it('starts each new set at a random position, and keeps one rotation per membership', () => {
    const list = candidates(4, () => ({ stats: observed(100, 0, 200) }));
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const strategy = new SmartStrategy();
      firsts.add(list.indexOf(strategy.pick(list.slice(0, 3), context({ random: mulberry32(seed) }))));
    }
    expect(firsts.size).toBe(3);
    // Two users' instances (same set key, same size, different members) in strict alternation: a
    // rotation by position alone sent each user's every call to one instance.
    const strategy = new SmartStrategy();
    const random = mulberry32(1);
    const parts = [list.slice(0, 2), list.slice(2)];
    let turn = 0;
    const counts = tally(list, 400, () => strategy.pick(parts[turn++ % 2], context({ random })));
    expect(counts).toEqual([100, 100, 100, 100]);
  });

  it('never gives a weight-0 instance a share nor an exploration, unless every weight is 0', () => {
    const list = candidates(3, (i) => ({
      stats: observed(100, 0, [50, 500, 500][i]), // the drained one is by far the fastest
      routingParams: { weight: [0, 1, 1][i] },
    }));
    const strategy = new SmartStrategy();
    const clock = new FakeClock();
    const random = mulberry32(1);
    const counts = tally(list, 600, () => (clock.advance(1000), strategy.pick(list, context({ random, clock }))));
    expect(counts).toEqual([0, 300, 300]);
  });

  it('explores the candidates below the band in turn, even one that never reports', () => {
    const list = candidates(4, (i) => ({
      stats: [
        observed(100, 0, 200),
        observed(100, 0, 200),
        { ...observed(100, 0, 2000), lastReportAt: 500 }, // reported longest ago, and never again
        { ...observed(100, 0, 2000), lastReportAt: 1000 },
      ][i],
    }));
    const strategy = new SmartStrategy();
    const clock = new FakeClock();
    const random = mulberry32(1);
    const counts = tally(list, 4000, () => (clock.advance(10), strategy.pick(list, context({ random, clock }))));
    expect(counts[2]).toBe(4);
    expect(counts[3]).toBe(3);
  });

  it(`forgets everything once ${SMART_MAX_POSITIONS} candidate positions are stored`, () => {
    const strategy = new SmartStrategy();
    const list = candidates(1000, () => ({ stats: observed(100, 0, 200) }));
    for (let i = 0; i < SMART_MAX_POSITIONS / 1000; i++) strategy.pick(list, context({ setKey: `set-${i}` }));
    expect(strategy.trackedSets).toBe(SMART_MAX_POSITIONS / 1000);
    strategy.pick(list, context({ setKey: 'one-more' }));
    expect(strategy.trackedSets).toBe(1);
  });

  it(`remembers at most ${SMART_MAX_SETS} sets, oldest first out`, () => {
    const strategy = new SmartStrategy();
    const list = candidates(2, () => ({ stats: observed(100, 0, 200) }));
    for (let i = 0; i < SMART_MAX_SETS + 5; i++) strategy.pick(list, context({ setKey: `set-${i}` }));
    expect(strategy.trackedSets).toBe(SMART_MAX_SETS);
  });

  it('prefers a proven instance to an unseen one, and an unseen one to a failing one', () => {
    const list = candidates(3, (i) => ({ stats: [observed(50, 0, 800), {}, observed(50, 30, 800)][i] }));
    const [proven, unseen, failing] = list.map(smartScore);
    expect(proven).toBeGreaterThan(unseen);
    expect(unseen).toBeGreaterThan(failing);
  });
});

import { candidates, context, mulberry32, observed, tally } from '../../../test/contracts/candidates';
import { LowestCostStrategy } from './lowest-cost.strategy';
import { SmartStrategy } from './smart.strategy';

describe('LowestCostStrategy', () => {
  const run = (list: ReturnType<typeof candidates>): number[] => {
    const strategy = new LowestCostStrategy(new SmartStrategy());
    const random = mulberry32(6);
    return tally(list, 2_000, () => strategy.pick(list, context({ random })));
  };

  it('always takes the lowest costPerUnit (alias cost_per_unit), whatever its other stats', () => {
    const list = candidates(3, (i) => ({
      routingParams: [{ costPerUnit: 0.3 }, { cost_per_unit: 0.1 }, { costPerUnit: 0.2 }][i],
      stats: observed(100, i === 1 ? 30 : 0, i === 1 ? 900 : 100),
    }));
    expect(run(list)).toEqual([0, 2_000, 0]);
  });

  it('counts an instance without a cost as the most expensive', () => {
    const list = candidates(2, (i) => ({ routingParams: i === 0 ? {} : { costPerUnit: 1_000 } }));
    expect(run(list)).toEqual([0, 2_000]);
  });

  it('lets smart decide among the cheapest: avoids the failing one, shares among the healthy', () => {
    const list = candidates(4, (i) => ({
      routingParams: { costPerUnit: i === 3 ? 0.5 : 0.1 },
      stats: observed(100, i === 0 ? 40 : 0, 200),
    }));
    const [failing, healthyA, healthyB, dearer] = run(list);
    expect(failing).toBeLessThan(100); // smart's exploration share only
    expect(dearer).toBe(0);
    expect(Math.abs(healthyA - healthyB)).toBeLessThan(150);
  });

  it('shares the traffic between two instances at the same lowest price, wherever they sit in the list', () => {
    const list = candidates(3, (i) => ({
      routingParams: { costPerUnit: i === 0 ? 0.5 : 0.1 },
      stats: observed(100, 0, 200),
    }));
    const [dearer, cheapA, cheapB] = run(list);
    expect(dearer).toBe(0);
    expect(Math.abs(cheapA - 1_000)).toBeLessThan(100);
    expect(cheapA + cheapB).toBe(2_000);
  });

  it('lets smart decide when no instance has a cost', () => {
    const list = candidates(3, (i) => ({ stats: observed(100, 0, i === 0 ? 2_000 : 200) }));
    const [slow, a, b] = run(list);
    expect(slow).toBeLessThan(100); // smart's exploration share only
    expect(a).toBeGreaterThan(800);
    expect(b).toBeGreaterThan(800);
  });

  it('scores the negated cost; an unset cost is below any set one and still finite', () => {
    const [cheap, unset] = candidates(2, (i) => ({ routingParams: i === 0 ? { costPerUnit: 0.25 } : {} }));
    const strategy = new LowestCostStrategy(new SmartStrategy());
    expect(strategy.score(cheap)).toBe(-0.25);
    expect(strategy.score(unset)).toBe(-Number.MAX_VALUE);
  });
});

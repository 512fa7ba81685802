import { CostBudget } from './cost-budget';

describe('CostBudget', () => {
  it('lets a key spend a second of its rate at once, then makes it wait for the refill', () => {
    const budget = new CostBudget(1000);
    expect(budget.waitMs('p', 0)).toBe(0);
    budget.charge('p', 1000, 0);
    expect(budget.waitMs('p', 0)).toBe(0);
    budget.charge('p', 500, 0);
    expect(budget.waitMs('p', 0)).toBe(500);
    expect(budget.waitMs('p', 499)).toBe(1);
    expect(budget.waitMs('p', 500)).toBe(0);
  });

  it('refills continuously, never above one second of the rate', () => {
    const budget = new CostBudget(1000);
    budget.charge('p', 1000, 0);
    budget.charge('p', 250, 250); // refilled 250, spent 250: level 0
    expect(budget.waitMs('p', 250)).toBe(0);
    budget.charge('p', 1, 250);
    expect(budget.waitMs('p', 250)).toBe(1);
    // An hour idle refills one second's worth, not an hour's.
    budget.charge('p', 2000, 3_600_000);
    expect(budget.waitMs('p', 3_600_000)).toBe(1000);
  });

  it('keeps keys apart: one key over its budget does not make another wait', () => {
    const budget = new CostBudget(100);
    budget.charge('hostile', 10_000, 0);
    expect(budget.waitMs('hostile', 0)).toBe(99_000);
    expect(budget.waitMs('victim', 0)).toBe(0);
    budget.charge('victim', 100, 0);
    expect(budget.waitMs('victim', 0)).toBe(0);
  });

  it('rounds a partial millisecond up, so a retry after the wait is never refused', () => {
    const budget = new CostBudget(3);
    budget.charge('p', 4, 0);
    expect(budget.waitMs('p', 0)).toBe(334);
    expect(budget.waitMs('p', 334)).toBe(0);
  });

  it('is off at a rate of 0: nothing is kept and nobody waits', () => {
    const budget = new CostBudget(0);
    budget.charge('p', 1e9, 0);
    expect(budget.waitMs('p', 0)).toBe(0);
    expect(budget.size).toBe(0);
    expect(budget.enabled).toBe(false);
  });

  it('ignores a cost of zero and forgets a key', () => {
    const budget = new CostBudget(10);
    budget.charge('p', 0, 0);
    expect(budget.size).toBe(0);
    budget.charge('p', 20, 0);
    expect(budget.waitMs('p', 0)).toBe(1000);
    budget.forget('p');
    expect(budget.waitMs('p', 0)).toBe(0);
    expect(budget.size).toBe(0);
  });

  it('with a known cost, lets the work start only when the level covers it', () => {
    const budget = new CostBudget(5);
    for (let i = 0; i < 5; i++) {
      expect(budget.waitMs('p', 0, 1)).toBe(0);
      budget.charge('p', 1, 0);
    }
    expect(budget.waitMs('p', 0, 1)).toBe(200);
    expect(budget.waitMs('p', 200, 1)).toBe(0);
    expect(budget.waitMs('q', 0, 6)).toBe(200);
  });

  it('holds up to `burst` when told (a per-minute budget spent at once, then refilled per second)', () => {
    const budget = new CostBudget(10, 600);
    budget.charge('p', 600, 0);
    expect(budget.waitMs('p', 0, 1)).toBe(100);
    budget.charge('p', 100, 60_000); // refilled to 600 (not 60 s × 10 + 0 beyond the burst)
    expect(budget.waitMs('p', 60_000, 500)).toBe(0);
    expect(budget.waitMs('p', 60_000, 501)).toBe(100);
  });

  it('says whether any key may wait, so callers can skip the lookup while nobody is over budget', () => {
    const budget = new CostBudget(1000);
    expect(budget.anyWaiting(0)).toBe(false);
    budget.charge('a', 900, 0);
    expect(budget.anyWaiting(0)).toBe(false);
    budget.charge('b', 1500, 0); // 500 below zero: back at zero 500 ms later
    expect(budget.anyWaiting(0)).toBe(true);
    expect(budget.anyWaiting(499)).toBe(true);
    expect(budget.anyWaiting(500)).toBe(false);
    expect(budget.waitMs('b', 500)).toBe(0);
  });
});

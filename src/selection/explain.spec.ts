import type { SelectInstanceDto, SelectionExplanationDto } from './dto/select-instance.dto';
import { LowestCostStrategy } from './strategies/lowest-cost.strategy';
import {
  type DecisionLoop,
  PROJECT_ID,
  costedInstance,
  createDecisionLoop,
  instanceId,
} from './testing/decision-loop.testing';
import type { ProjectSettings } from '../tenancy/project-settings';

/**
 * `explain: true` over the real decision loop: counts over every candidate, the details of the
 * chosen one and the best others only (20 by default), so the answer is bounded whatever the
 * instance count. `lowest-cost` with distinct costs makes scores (negated costs) predictable.
 */
describe('explain', () => {
  let loop: DecisionLoop;

  beforeEach(async () => {
    loop = await createDecisionLoop();
  });
  afterEach(() => loop.close());

  const cost = (n: number, routingParams: Record<string, unknown> = {}, apiIdentifier = 'gpt-4o') =>
    costedInstance(n, routingParams, { apiIdentifier });
  const select = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    loop.select(request, settings);
  const explain = (request: Partial<SelectInstanceDto> = {}, settings: ProjectSettings = {}) =>
    select({ ...request, explain: true }, settings).explain!;
  const listed = (explained: SelectionExplanationDto) => explained.candidates.map((one) => one.instanceId);
  const trip = (n: number) => loop.trip(n);
  const hold = (n: number) => loop.leases.open({ projectId: PROJECT_ID, instanceId: instanceId(n), ttlMs: 60_000 });

  it('lists the chosen candidate, then the best others, 20 at most, and counts all of them by kind', () => {
    loop.register(...Array.from({ length: 500 }, (_, i) => cost(i + 1, { maxConcurrency: 1 })));
    for (const n of [1, 2, 3]) hold(n); // quota
    trip(4); // breaker
    const explained = explain({ excludeInstanceIds: [instanceId(5), instanceId(6)] });
    expect(listed(explained)).toEqual(Array.from({ length: 20 }, (_, i) => instanceId(i + 7)));
    expect(explained.candidates[0]).toMatchObject({ chosen: true, selectable: true, reason: 'chosen by the strategy' });
    expect(explained.candidates.slice(1).map((one) => one.score)).toEqual(
      Array.from({ length: 19 }, (_, i) => -(i + 8)),
    );
    expect(explained).toMatchObject({
      tried: ['gpt-4o'],
      totalCandidates: 500,
      selectableCandidates: 494,
      notSelectable: { breaker: 1, operator: 0, cooldown: 0, quota: 3, excluded: 2 },
      omittedCandidates: 480,
    });
  });

  it('lists the served tier before lower tiers, and the unavailable after every selectable one, soonest back first', () => {
    loop.register(
      cost(1, { priority: 1 }),
      cost(2, { priority: 2 }),
      cost(3, { priority: 2 }),
      cost(4),
      cost(5),
      cost(6),
      cost(7, { priority: 2 }),
    );
    trip(5);
    loop.clock.advance(1000);
    trip(4);
    hold(3);
    loop.register(cost(3, { priority: 2, maxConcurrency: 1 }));
    const explained = explain({ excludeInstanceIds: [instanceId(6)] });
    expect(explained.candidates.map((one) => [one.instanceId, one.reason])).toEqual([
      [instanceId(2), 'chosen by the strategy'],
      [instanceId(7), undefined],
      [instanceId(1), 'lower tier (1 < 2)'],
      [instanceId(3), 'maxConcurrency 1 reached'], // unavailable: the higher priority first…
      [instanceId(5), expect.stringMatching(/^breaker OPEN/)], // …then the soonest back
      [instanceId(4), expect.stringMatching(/^breaker OPEN/)],
      [instanceId(6), 'excluded by the request'],
    ]);
    expect(explained.omittedCandidates).toBe(0);
  });

  it('counts the candidates of every identifier tried, and lists those of the one served first', () => {
    loop.register(cost(1), cost(2), cost(3, {}, 'claude'), cost(4, {}, 'claude'));
    trip(1);
    trip(2);
    const explained = explain({ fallbackChain: ['claude'] });
    expect(explained.tried).toEqual(['gpt-4o', 'claude']);
    expect(listed(explained)).toEqual([instanceId(3), instanceId(4), instanceId(1), instanceId(2)]);
    expect(explained).toMatchObject({ totalCandidates: 4, selectableCandidates: 2, notSelectable: { breaker: 2 } });
  });

  it('lists a least-bad choice first, though it is not selectable', () => {
    loop.register(cost(1), cost(2));
    trip(2);
    loop.clock.advance(5000);
    trip(1);
    const explained = explain({}, { whenAllUnavailable: 'least-bad' });
    expect(explained.candidates[0]).toMatchObject({
      instanceId: instanceId(2),
      chosen: true,
      selectable: false,
      reason: 'chosen: least-bad, nothing was selectable',
    });
    expect(explained).toMatchObject({ totalCandidates: 2, selectableCandidates: 0, omittedCandidates: 0 });
  });

  it('scores only the selectable candidates, and nothing at all when explain is not asked for', () => {
    loop.register(...Array.from({ length: 50 }, (_, i) => cost(i + 1)));
    trip(1);
    const score = jest.spyOn(loop.module.get(LowestCostStrategy), 'score');
    select();
    select({ explain: false });
    expect(score).not.toHaveBeenCalled();
    explain();
    expect(score).toHaveBeenCalledTimes(49);
  });
});

import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { instanceRecord } from '../selection/testing/decision-loop.testing';
import { MemoryEventBus } from '../state/event-bus';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { CandidatePool } from './candidate-pool';

const NOW = 1_767_225_600_000;

function setup(): { pool: CandidatePool; registry: InstanceStatsRegistry } {
  const events = new MemoryEventBus();
  const registry = new InstanceStatsRegistry(events, new BreakerTransitions());
  return { pool: new CandidatePool(registry, events), registry };
}

describe('CandidatePool', () => {
  it('keeps one candidate per record, and makes a new one when the record is replaced', () => {
    const { pool } = setup();
    const record = instanceRecord(1, { routingParams: { weight: 2 } });
    const first = pool.candidateFor(record, NOW);

    expect(pool.candidateFor(record, NOW)).toBe(first);
    const replaced = pool.candidateFor({ ...record, routingParams: { weight: 5 } }, NOW);
    expect(replaced).not.toBe(first);
    expect(replaced.params.weight).toBe(5);
    expect(replaced.stats).toBe(first.stats);
  });

  describe('candidatesOf a shared list', () => {
    it('gives the same candidates as candidateFor, kept for the list', () => {
      const { pool } = setup();
      const records = Object.freeze([instanceRecord(1), instanceRecord(2)]);

      const candidates = pool.candidatesOf(records, NOW);

      expect(candidates.map((candidate) => candidate.instance)).toEqual(records);
      expect(candidates).toEqual(records.map((record) => pool.candidateFor(record, NOW)));
      expect(pool.candidatesOf(records, NOW)).toBe(candidates);
    });

    it('refreshes every candidate’s stats to now on each use', () => {
      const { pool, registry } = setup();
      const records = Object.freeze([instanceRecord(1), instanceRecord(2)]);
      pool.candidatesOf(records, NOW);
      const refreshes = records.map((record) => jest.spyOn(registry.get(record.id), 'refresh'));

      pool.candidatesOf(records, NOW + 1000);

      for (const refresh of refreshes) expect(refresh).toHaveBeenCalledWith(NOW + 1000);
    });

    it('makes a list again once any instance was forgotten', () => {
      const { pool } = setup();
      const records = Object.freeze([instanceRecord(1), instanceRecord(2)]);
      const before = pool.candidatesOf(records, NOW);

      pool.forget(records[0].id);
      const after = pool.candidatesOf(records, NOW);

      expect(after).not.toBe(before);
      expect(after[0]).not.toBe(before[0]);
      expect(after[1]).toBe(before[1]);
    });

    it('keeps another list apart: a record replaced in a new list gets its own candidate', () => {
      const { pool } = setup();
      const old = Object.freeze([instanceRecord(1, { routingParams: { priority: 1 } })]);
      const next = Object.freeze([instanceRecord(1, { routingParams: { priority: 2 } })]);

      const [before] = pool.candidatesOf(old, NOW);
      const [after] = pool.candidatesOf(next, NOW);

      expect(before.params.priority).toBe(1);
      expect(after.params.priority).toBe(2);
    });
  });
});

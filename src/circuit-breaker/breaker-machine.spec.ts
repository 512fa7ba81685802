import type { OutcomeClass } from '../common/outcome';
import { type BreakerRecord, type BreakerTransition, newBreakerRecord } from '../state/breaker-store';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from './breaker-config';
import {
  advance,
  applyOutcome,
  breakerUnavailability,
  needsAdvance,
  probeEarly,
  windowCounts,
} from './breaker-machine';

const KEY = { projectId: 'p'.repeat(32), instanceId: 'a'.repeat(32) };
/** A whole minute, so bucket numbers (1 s wide with the default 60 s window) start at a multiple of 60. */
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const SLOW_RULE: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG, slowCallMs: 1000 };

/** A breaker record CLOSED since T0, with the given fields changed. */
function record(fields: Partial<BreakerRecord> = {}): BreakerRecord {
  return { ...newBreakerRecord(KEY, T0), ...fields };
}

/** A sink that keeps every transition. */
function recorder() {
  const transitions: BreakerTransition[] = [];
  return { transitions, sink: { transition: (t: BreakerTransition) => void transitions.push(t) } };
}

/** Applies one report at `now` without jitter; returns the transitions it caused. */
function report(
  target: BreakerRecord,
  outcome: OutcomeClass,
  at: { now: number; latencyMs?: number; probe?: boolean; config?: BreakerConfig; unreachable?: boolean },
): BreakerTransition[] {
  const { transitions, sink } = recorder();
  applyOutcome(target, {
    config: at.config ?? DEFAULT_BREAKER_CONFIG,
    now: at.now,
    sink,
    random: () => 0.5,
    report: { outcome, latencyMs: at.latencyMs ?? 100, probe: at.probe ?? false, unreachable: at.unreachable },
  });
  return transitions;
}

function advanceAt(target: BreakerRecord, now: number): BreakerTransition[] {
  const { transitions, sink } = recorder();
  advance(target, { config: DEFAULT_BREAKER_CONFIG, now, sink });
  return transitions;
}

/** The record frozen as a read-only store would hand it out: any write throws. */
function frozen(target: BreakerRecord): BreakerRecord {
  Object.freeze(target.probeExpiries);
  return Object.freeze(target);
}

describe('breaker machine (docs/resilience.md §2)', () => {
  describe('needsAdvance: whether time alone has changed the breaker', () => {
    it('never while an operator state is set, even long after the open time', () => {
      const forced = record({ state: 'OPEN', openUntil: T0 + 30_000, operator: 'FORCED_OPEN' });
      expect(needsAdvance(forced, T0 + 3_600_000)).toBe(false);
    });

    it('an OPEN breaker is due exactly when its open time is over', () => {
      const open = record({ state: 'OPEN', openUntil: T0 + 30_000 });
      expect(needsAdvance(open, T0 + 29_999)).toBe(false);
      expect(needsAdvance(open, T0 + 30_000)).toBe(true);
    });

    it('a HALF_OPEN breaker is due as soon as any one probe lease has expired', () => {
      const halfOpen = record({ state: 'HALF_OPEN', probeExpiries: [T0 + 10_000, T0 + 20_000] });
      expect(needsAdvance(halfOpen, T0 + 9999)).toBe(false);
      expect(needsAdvance(halfOpen, T0 + 10_000)).toBe(true);
      expect(needsAdvance(halfOpen, T0 + 15_000)).toBe(true);
    });

    it('a HALF_OPEN breaker without leases is not due, whatever its old open time', () => {
      const halfOpen = record({ state: 'HALF_OPEN', openUntil: T0, trips: 2, decayFrom: T0 });
      expect(needsAdvance(halfOpen, T0 + 600_000)).toBe(false);
    });

    it('a CLOSED breaker with trips is due after each full healthy minute', () => {
      const closed = record({ trips: 2, decayFrom: T0 });
      expect(needsAdvance(closed, T0 + 59_999)).toBe(false);
      expect(needsAdvance(closed, T0 + 60_000)).toBe(true);
    });

    it('a CLOSED breaker without trips is never due', () => {
      expect(needsAdvance(record(), T0)).toBe(false);
      expect(needsAdvance(record(), T0 + 600_000)).toBe(false);
    });
  });

  describe('advance: time-driven changes', () => {
    it('leaves the automatic state alone while an operator state is set', () => {
      const forced = record({ state: 'OPEN', openUntil: T0 + 30_000, operator: 'FORCED_OPEN' });
      expect(advanceAt(forced, T0 + 3_600_000)).toEqual([]);
      expect(forced.state).toBe('OPEN');
    });

    it('turns OPEN into HALF_OPEN dated at the end of the open time, announcing the probe count', () => {
      const open = record({ state: 'OPEN', openUntil: T0 + 30_000, probeSuccesses: 1 });
      expect(advanceAt(open, T0 + 45_000)).toEqual([
        {
          ...KEY,
          from: 'OPEN',
          to: 'HALF_OPEN',
          reason: 'open time over; admitting 3 probe calls',
          at: T0 + 30_000,
        },
      ]);
      expect(open).toMatchObject({ state: 'HALF_OPEN', since: T0 + 30_000, probeExpiries: [], probeSuccesses: 0 });
    });

    it('frees a HALF_OPEN probe slot the moment its lease expires, keeping the live ones', () => {
      const halfOpen = record({ state: 'HALF_OPEN', probeExpiries: [T0 + 10_000, T0 + 20_000, T0 + 30_000] });
      advanceAt(halfOpen, T0 + 20_000);
      expect(halfOpen.probeExpiries).toEqual([T0 + 30_000]);
    });

    it('lowers the trip multiplier by one per full healthy minute, never below zero', () => {
      const closed = record({ trips: 3, decayFrom: T0 });
      advanceAt(closed, T0 + 150_000);
      expect(closed).toMatchObject({ trips: 1, decayFrom: T0 + 120_000 });
      advanceAt(closed, T0 + 600_000);
      expect(closed.trips).toBe(0);
    });

    it('does not raise the trip multiplier when the clock steps back', () => {
      const closed = record({ trips: 2, decayFrom: T0 });
      advanceAt(closed, T0 - 120_000);
      expect(closed).toMatchObject({ trips: 2, decayFrom: T0 });
    });

    it.each([
      ['an OPEN breaker before its open time is over', record({ state: 'OPEN', openUntil: T0 + 30_000 }), T0 + 1000],
      ['a FORCED_OPEN breaker', record({ state: 'OPEN', openUntil: T0, operator: 'FORCED_OPEN' }), T0 + 60_000],
      ['a HALF_OPEN breaker whose leases are all live', record({ state: 'HALF_OPEN', probeExpiries: [T0 + 5000] }), T0],
      ['a CLOSED breaker within its healthy minute', record({ trips: 2, decayFrom: T0 }), T0 + 59_999],
      ['a CLOSED breaker that never tripped', record(), T0 + 600_000],
    ])('writes nothing to %s, as needsAdvance promises', (_, target, now) => {
      expect(needsAdvance(target, now)).toBe(false);
      const before = structuredClone(target);
      expect(advanceAt(frozen(target), now)).toEqual([]);
      expect(target).toEqual(before);
    });
  });

  describe('breakerUnavailability', () => {
    it('a full HALF_OPEN breaker says to retry when the earliest probe lease ends', () => {
      const full = record({ state: 'HALF_OPEN', probeExpiries: [T0 + 50_000, T0 + 20_000, T0 + 40_000] });
      expect(breakerUnavailability(full, DEFAULT_BREAKER_CONFIG)).toEqual({
        kind: 'breaker',
        reason: 'breaker HALF_OPEN: 3 probe calls in flight',
        retryAt: T0 + 20_000,
      });
    });
  });

  describe('probe calls while HALF_OPEN', () => {
    it('a probe call at least slowCallMs slow reopens the breaker, saying how slow', () => {
      const halfOpen = record({ state: 'HALF_OPEN', probeExpiries: [T0 + 60_000] });
      const transitions = report(halfOpen, 'SUCCESS', { now: T0, latencyMs: 1000, probe: true, config: SLOW_RULE });
      expect(halfOpen.state).toBe('OPEN');
      expect(transitions).toMatchObject([
        { from: 'HALF_OPEN', to: 'OPEN', reason: 'probe call slow: 1000 ms ≥ 1000 ms' },
      ]);
    });

    it('a probe call just under slowCallMs counts as a success', () => {
      const halfOpen = record({ state: 'HALF_OPEN', probeExpiries: [T0 + 60_000] });
      report(halfOpen, 'SUCCESS', { now: T0, latencyMs: 999, probe: true, config: SLOW_RULE });
      expect(halfOpen).toMatchObject({ state: 'HALF_OPEN', probeSuccesses: 1 });
    });

    it('a breaker closed by its probes needs a whole new streak to trip again', () => {
      const breaker = record();
      for (let i = 0; i < 5; i++) report(breaker, 'SERVER_ERROR', { now: T0 });
      expect(breaker.state).toBe('OPEN');
      const halfOpenAt = T0 + 30_000;
      for (let i = 0; i < 3; i++) report(breaker, 'SUCCESS', { now: halfOpenAt, probe: true });
      expect(breaker.state).toBe('CLOSED');
      for (let i = 0; i < 4; i++) report(breaker, 'SERVER_ERROR', { now: halfOpenAt + 1000 });
      expect(breaker.state).toBe('CLOSED');
      expect(windowCounts(breaker, halfOpenAt + 1000)).toEqual({ calls: 4, failures: 4, slow: 0 });
    });
  });

  describe('calls that never reached the backend (consecutiveUnreachable, default 2)', () => {
    const refused = (target: BreakerRecord, now: number) => report(target, 'SERVER_ERROR', { now, unreachable: true });

    it('two in a row trip the breaker, naming why', () => {
      const target = record();
      expect(refused(target, T0)).toEqual([]);
      const [trip] = refused(target, T0 + 10);
      expect(trip).toMatchObject({ from: 'CLOSED', to: 'OPEN' });
      expect(trip.reason).toBe(
        '2 consecutive calls could not reach the backend (connection refused or host unreachable)',
      );
    });

    it('isolated ones never do: a success, or an error answer, in between starts the count again', () => {
      const target = record();
      for (let minute = 0; minute < 30; minute++) {
        const at = T0 + minute * 60_000;
        expect(refused(target, at)).toEqual([]);
        expect(report(target, 'SUCCESS', { now: at + 1 })).toEqual([]);
      }
      expect(refused(target, T0 + 3_600_000)).toEqual([]);
      expect(report(target, 'SERVER_ERROR', { now: T0 + 3_600_001 })).toEqual([]);
      expect(refused(target, T0 + 3_600_002)).toEqual([]);
      expect(target.state).toBe('CLOSED');
    });

    it('counts toward the ordinary streak too, and the threshold is configurable', () => {
      const target = record();
      const three: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG, consecutiveUnreachable: 3 };
      report(target, 'SERVER_ERROR', { now: T0, unreachable: true, config: three });
      expect(report(target, 'SERVER_ERROR', { now: T0 + 1, unreachable: true, config: three })).toEqual([]);
      expect(report(target, 'SERVER_ERROR', { now: T0 + 2, unreachable: true, config: three })).toHaveLength(1);
      expect(target.consecutive).toBe(0); // reset by the trip
    });

    it('a record written before the field existed reads it as 0', () => {
      const old = record();
      delete old.unreachable;
      expect(refused(old, T0)).toEqual([]);
      expect(old.unreachable).toBe(1);
    });
  });

  describe('slow-call rule', () => {
    it('stays CLOSED below the slow-call rate', () => {
      const closed = record();
      for (let i = 0; i < 10; i++) {
        report(closed, 'SUCCESS', { now: T0, latencyMs: i < 7 ? 2000 : 100, config: SLOW_RULE }); // 70 % slow
      }
      expect(closed.state).toBe('CLOSED');
    });

    it('once turned off, slow calls already in the window no longer trip the breaker', () => {
      const closed = record();
      for (let i = 0; i < 9; i++) report(closed, 'SUCCESS', { now: T0, latencyMs: 2000, config: SLOW_RULE });
      report(closed, 'SUCCESS', { now: T0, latencyMs: 2000, config: DEFAULT_BREAKER_CONFIG });
      expect(closed.state).toBe('CLOSED');
      expect(windowCounts(closed, T0)).toEqual({ calls: 10, failures: 0, slow: 9 });
    });
  });

  describe('sliding window (60 buckets over windowMs)', () => {
    it('a call counts until its bucket leaves the window, one bucket at a time', () => {
      const closed = record();
      report(closed, 'SERVER_ERROR', { now: T0, latencyMs: 2000, config: SLOW_RULE });
      report(closed, 'SUCCESS', { now: T0, config: SLOW_RULE });
      report(closed, 'SUCCESS', { now: T0 + 30_000, config: SLOW_RULE });
      expect(windowCounts(closed, T0 + 59_999)).toEqual({ calls: 3, failures: 1, slow: 1 });
      expect(windowCounts(closed, T0 + 60_000)).toEqual({ calls: 1, failures: 0, slow: 0 });
      expect(windowCounts(closed, T0 + 90_000)).toEqual({ calls: 0, failures: 0, slow: 0 });
    });

    it('forgets a failed slow call after 60 s even when the window was read in between', () => {
      const closed = record();
      report(closed, 'SERVER_ERROR', { now: T0, latencyMs: 2000, config: SLOW_RULE });
      expect(windowCounts(closed, T0 + 1000)).toEqual({ calls: 1, failures: 1, slow: 1 });
      expect(windowCounts(closed, T0 + 60_000)).toEqual({ calls: 0, failures: 0, slow: 0 });
    });

    it('counts a late report in the oldest bucket of the window, and drops one older than the window', () => {
      const closed = record();
      report(closed, 'SUCCESS', { now: T0 + 60_000 });
      report(closed, 'SUCCESS', { now: T0 + 1000 }); // 59 buckets back: the oldest one still in the window
      report(closed, 'SUCCESS', { now: T0 }); // 60 buckets back: out of the window
      expect(windowCounts(closed, T0 + 60_000).calls).toBe(2);
    });

    it('keeps the newer calls when a report arrives from a clock that stepped back', () => {
      const closed = record();
      report(closed, 'SUCCESS', { now: T0 + 10_000 });
      report(closed, 'SUCCESS', { now: T0 });
      report(closed, 'SUCCESS', { now: T0 + 10_000 });
      expect(windowCounts(closed, T0 + 10_000).calls).toBe(3);
    });

    it('starts a fresh window when the window length changes', () => {
      const closed = record();
      for (let i = 0; i < 4; i++) report(closed, 'SERVER_ERROR', { now: T0 });
      report(closed, 'SUCCESS', { now: T0, config: { ...DEFAULT_BREAKER_CONFIG, windowMs: 120_000 } });
      expect(windowCounts(closed, T0)).toEqual({ calls: 1, failures: 0, slow: 0 });
    });
  });

  describe('probeEarly: least-bad picked an OPEN instance', () => {
    it('turns an OPEN breaker HALF_OPEN now, with fresh probe slots', () => {
      const open = record({ state: 'OPEN', openUntil: T0 + 30_000, probeSuccesses: 2 });
      const { transitions, sink } = recorder();
      probeEarly(open, { now: T0 + 1000, sink });
      expect(open).toMatchObject({ state: 'HALF_OPEN', openUntil: T0 + 1000, since: T0 + 1000, probeSuccesses: 0 });
      expect(transitions).toEqual([
        {
          ...KEY,
          from: 'OPEN',
          to: 'HALF_OPEN',
          reason: 'probing early: least-bad selection while OPEN',
          at: T0 + 1000,
        },
      ]);
    });

    it.each([
      ['a CLOSED breaker', record()],
      ['a HALF_OPEN breaker', record({ state: 'HALF_OPEN', probeExpiries: [T0 + 5000] })],
      ['an OPEN breaker under FORCED_OPEN', record({ state: 'OPEN', openUntil: T0 + 30_000, operator: 'FORCED_OPEN' })],
    ])('leaves %s as it is', (_, target) => {
      const before = structuredClone(target);
      const { transitions, sink } = recorder();
      probeEarly(target, { now: T0 + 1000, sink });
      expect(target).toEqual(before);
      expect(transitions).toEqual([]);
    });
  });
});

import type { InstanceStatsDelta } from '../state/stats-exchange';
import { mulberry32 as prng } from '../../test/utils/mulberry32';
import { FakeClock } from '../common/clock';
import { InstanceStats, type RecordedOutcome } from './instance-stats';
import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';

const T0 = Date.UTC(2026, 0, 1); // a whole second, so bucket boundaries fall on round offsets

/** Samples at `perSecond` for `seconds`, each `latencyMs`, advancing the clock. */
function feed(stats: InstanceStats, clock: FakeClock, sample: Partial<RecordedOutcome> & { seconds: number }): void {
  const { seconds, ...rest } = sample;
  for (let i = 0; i < seconds * 10; i++) {
    clock.advance(100);
    stats.record({ outcome: 'SUCCESS', latencyMs: 100, ...rest, at: clock.now() });
  }
  stats.refresh(clock.now());
}

describe('InstanceStats', () => {
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock(T0)));

  it('starts empty, settled, at the neutral latency', () => {
    const stats = new InstanceStats();
    stats.refresh(clock.now());
    expect(stats).toMatchObject({ calls: 0, successes: 0, failures: 0, latencyMs: 1000, openLeases: 0 });
    expect(stats).toMatchObject({ slowStartFactor: 1, ttftMs: undefined, lastReportAt: undefined });
    expect(new InstanceStats({ neutralLatencyMs: 250 }).latencyMs).toBe(250);
  });

  describe('rolling window', () => {
    it('keeps a call for exactly 60 s of its 1 s bucket', () => {
      const stats = new InstanceStats();
      stats.record({ at: T0, outcome: 'SUCCESS', latencyMs: 10 });
      stats.record({ at: T0 + 999, outcome: 'SERVER_ERROR', latencyMs: 10 });
      stats.record({ at: T0 + 1000, outcome: 'TIMEOUT', latencyMs: 10 });
      stats.refresh(T0 + 59_999);
      expect(stats).toMatchObject({ calls: 3, successes: 1, failures: 2 });
      stats.refresh(T0 + 60_000);
      expect(stats).toMatchObject({ calls: 1, successes: 0, failures: 1 });
      stats.refresh(T0 + 60_999);
      expect(stats.calls).toBe(1);
      stats.refresh(T0 + 61_000);
      expect(stats).toMatchObject({ calls: 0, successes: 0, failures: 0 });
    });

    it('counts outcomes, tokens and cost, ignoring amounts that are not finite and ≥ 0', () => {
      const stats = new InstanceStats();
      stats.record({ at: T0, outcome: 'SUCCESS', latencyMs: 1, promptTokens: 10, completionTokens: 5, cost: 0.25 });
      stats.record({ at: T0, outcome: 'RATE_LIMITED', latencyMs: 1, totalTokens: 15, promptTokens: NaN, cost: -1 });
      stats.record({ at: T0, outcome: 'CLIENT_ERROR', latencyMs: 1, completionTokens: Infinity });
      expect(stats.windowTotals(T0)).toEqual({
        calls: 3,
        successes: 1,
        failures: 0,
        byOutcome: { ...zeroByOutcome(), SUCCESS: 1, RATE_LIMITED: 1, CLIENT_ERROR: 1 },
        promptTokens: 10,
        completionTokens: 5,
        totalTokens: 15,
        cost: 0.25,
      });
    });

    it('forgets everything after an idle gap longer than the window', () => {
      const stats = new InstanceStats();
      for (let i = 0; i < 30; i++) stats.record({ at: T0 + i * 1000, outcome: 'UNKNOWN', latencyMs: 1, cost: 0.1 });
      stats.record({ at: T0 + 5 * 60_000, outcome: 'SUCCESS', latencyMs: 1 });
      expect(stats.windowTotals()).toMatchObject({ calls: 1, successes: 1, failures: 0, cost: 0 });
    });

    it('places a late report in its own bucket, and drops one older than the window', () => {
      const stats = new InstanceStats();
      stats.refresh(T0 + 100_000);
      stats.record({ at: T0 + 50_000, outcome: 'SUCCESS', latencyMs: 1 });
      stats.record({ at: T0 + 30_000, outcome: 'SUCCESS', latencyMs: 1 });
      expect(stats.calls).toBe(1);
      stats.refresh(T0 + 109_999);
      expect(stats.calls).toBe(1);
      stats.refresh(T0 + 110_000);
      expect(stats.calls).toBe(0);
    });

    it.each([1, 7, 42, 2026])('matches a brute-force recount over a random sequence (seed %d)', (seed) => {
      const random = prng(seed);
      const stats = new InstanceStats();
      const log: RecordedOutcome[] = [];
      for (let step = 0; step < 3000; step++) {
        const roll = random();
        clock.advance(roll < 0.01 ? 61_000 + random() * 30_000 : roll < 0.1 ? random() * 5000 : random() * 300);
        const now = clock.now();
        const late = random() < 0.05 ? Math.floor(random() * 70_000) : 0;
        const report = randomReport(random, now - late);
        if (late > 0) stats.refresh(now); // a late report arrives after the window moved on
        stats.record(report);
        log.push(report);
        if (random() < 0.2) expect(stats.windowTotals(now)).toEqual(bruteForce(log, now));
      }
    });
  });

  describe('latency (peak-EWMA)', () => {
    it('takes a step up at once (peak); beyond 2× the average, from the second sample in a row', () => {
      const stats = new InstanceStats();
      feed(stats, clock, { seconds: 20, latencyMs: 100 });
      expect(stats.latencyMs).toBeCloseTo(100, 6);
      clock.advance(100);
      stats.record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 190 }); // within 2×: a peak
      expect(stats.latencyMs).toBe(190);
      clock.advance(100);
      stats.record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 1000 }); // a lone outlier blends in
      expect(stats.latencyMs).toBeGreaterThan(190);
      expect(stats.latencyMs).toBeLessThan(200);
      clock.advance(100);
      stats.record({ at: clock.now(), outcome: 'SUCCESS', latencyMs: 1000 }); // confirmed: taken at once
      stats.refresh(clock.now());
      expect(stats.latencyMs).toBe(1000);
      // An ordinary sample in between makes the next outlier a lone one again.
      const other = new InstanceStats();
      feed(other, clock, { seconds: 20, latencyMs: 100 });
      for (const latencyMs of [1000, 100, 1000]) {
        clock.advance(100);
        other.record({ at: clock.now(), outcome: 'SUCCESS', latencyMs });
      }
      expect(other.latencyMs).toBeLessThan(200);
    });

    it('follows a step down within its ~10 s decay, not instantly', () => {
      const stats = new InstanceStats();
      feed(stats, clock, { seconds: 20, latencyMs: 1000 });
      feed(stats, clock, { seconds: 1, latencyMs: 100 });
      expect(stats.latencyMs).toBeGreaterThan(800);
      feed(stats, clock, { seconds: 14, latencyMs: 100 });
      expect(stats.latencyMs).toBeLessThan(400);
      expect(stats.latencyMs).toBeGreaterThan(100);
    });

    it('replaces the neutral prior with the first sample, fast or slow', () => {
      const fast = new InstanceStats();
      fast.record({ at: T0, outcome: 'SUCCESS', latencyMs: 80 });
      expect(fast.latencyMs).toBe(80);
      const slow = new InstanceStats();
      slow.record({ at: T0, outcome: 'SUCCESS', latencyMs: 2500 });
      expect(slow.latencyMs).toBe(2500);
    });

    it('does not let fast failures look fast', () => {
      const failing = new InstanceStats();
      const healthy = new InstanceStats();
      const healthyClock = new FakeClock(T0);
      feed(failing, clock, { seconds: 10, outcome: 'SERVER_ERROR', latencyMs: 5 });
      feed(healthy, healthyClock, { seconds: 10, latencyMs: 300 });
      expect(failing.latencyMs).toBeGreaterThan(healthy.latencyMs);
      expect(failing.latencyMs).toBe(5000);
    });

    it.each(OUTCOME_CLASSES.map((outcome) => [outcome]))('treats a 1 ms %s by the latency policy', (outcome) => {
      const stats = new InstanceStats();
      feed(stats, clock, { seconds: 5, latencyMs: 300 });
      clock.advance(100);
      stats.record({ at: clock.now(), outcome, latencyMs: 1 });
      const expected = expectedAfterOneMs(outcome);
      if (expected === 'lower') expect(stats.latencyMs).toBeLessThan(300);
      else expect(stats.latencyMs).toBeCloseTo(expected, 6);
    });

    it('samples a SERVER_ERROR or UNKNOWN only from the second in a row: one blip does not make an instance slow', () => {
      for (const outcome of ['SERVER_ERROR', 'UNKNOWN'] as const) {
        const stats = new InstanceStats();
        stats.record({ at: T0, outcome: 'SUCCESS', latencyMs: 300 });
        stats.record({ at: T0 + 10, outcome, latencyMs: 1 });
        expect(stats.latencyMs).toBe(300);
        stats.record({ at: T0 + 20, outcome: 'RATE_LIMITED', latencyMs: 1 }); // neither breaks nor extends the run
        stats.record({ at: T0 + 30, outcome, latencyMs: 1 });
        expect(stats.latencyMs).toBe(5000);
        // A success ends the run: the next failure is isolated again.
        stats.record({ at: T0 + 40, outcome: 'SUCCESS', latencyMs: 300 });
        const before = stats.latencyMs;
        stats.record({ at: T0 + 50, outcome, latencyMs: 1 });
        expect(stats.latencyMs).toBe(before);
      }
      // A timeout is a measured latency: sampled at once, and it starts a run.
      const timedOut = new InstanceStats();
      timedOut.record({ at: T0, outcome: 'SUCCESS', latencyMs: 300 });
      timedOut.record({ at: T0 + 10, outcome: 'TIMEOUT', latencyMs: 2000 });
      expect(timedOut.latencyMs).toBe(5000);
      timedOut.record({ at: T0 + 20_000, outcome: 'SERVER_ERROR', latencyMs: 1 }); // the second in a row
      expect(timedOut.latencyMs).toBe(5000);
    });

    it('counts how long the oldest selection since the last report has waited, from the third pending, until any report', () => {
      const stats = new InstanceStats();
      stats.incrementLeases(T0);
      stats.incrementLeases(T0 + 10);
      stats.refresh(T0 + 120);
      expect(stats.unansweredMs).toBe(0); // two may be callers that never report
      stats.incrementLeases(T0 + 150); // a third: the clock counts from the oldest
      stats.refresh(T0 + 200);
      expect(stats.unansweredMs).toBe(200);
      stats.record({ at: T0 + 230, outcome: 'SUCCESS', latencyMs: 130 }); // answered: the clock stops
      stats.refresh(T0 + 240);
      expect(stats.unansweredMs).toBe(0);
      for (const at of [250, 255, 260]) stats.incrementLeases(T0 + at); // the next three restart it
      stats.refresh(T0 + 300);
      expect(stats.unansweredMs).toBe(50);
      for (let i = 0; i < 5; i++) stats.decrementLeases();
      stats.refresh(T0 + 320);
      expect(stats.unansweredMs).toBe(70); // one lease still open
      stats.decrementLeases(); // none open (expired unreported): nothing is waiting
      stats.refresh(T0 + 400);
      expect(stats.unansweredMs).toBe(0);
      stats.incrementLeases(T0 + 410);
      stats.incrementLeases(T0 + 420);
      stats.incrementLeases(); // untimed: no clock
      stats.refresh(T0 + 500);
      expect(stats.unansweredMs).toBe(0);
      // Another node's report (cluster mode) stops it too.
      for (const at of [510, 520, 530]) stats.incrementLeases(T0 + at);
      stats.refresh(T0 + 540);
      expect(stats.unansweredMs).toBe(130); // pending since 410, nothing reported since
      stats.absorb(successes(1), T0 + 600);
      stats.refresh(T0 + 700);
      expect(stats.unansweredMs).toBe(0);
    });

    it('resets the failure run on a success another node shares: a blip here and one 40 s later are not "in a row"', () => {
      const stats = new InstanceStats();
      stats.record({ at: T0, outcome: 'SUCCESS', latencyMs: 300 });
      stats.record({ at: T0 + 10, outcome: 'SERVER_ERROR', latencyMs: 1 });
      stats.absorb(successes(50), T0 + 20_000);
      stats.record({ at: T0 + 40_000, outcome: 'SERVER_ERROR', latencyMs: 1 });
      expect(stats.latencyMs).toBeLessThan(1000);
    });

    it('observes a failure as the slower of its latency and the configured penalty', () => {
      const stats = new InstanceStats({ failurePenaltyMs: 60_000 });
      stats.record({ at: T0, outcome: 'TIMEOUT', latencyMs: 30_000 });
      expect(stats.latencyMs).toBe(60_000);
      stats.record({ at: T0, outcome: 'TIMEOUT', latencyMs: 90_000 });
      expect(stats.latencyMs).toBe(90_000);
      stats.record({ at: T0, outcome: 'UNKNOWN', latencyMs: NaN });
      expect(stats.latencyMs).toBe(90_000);
    });

    it('relaxes a penalised latency toward the neutral prior when no samples come, never below it', () => {
      const penalised = new InstanceStats();
      penalised.record({ at: T0, outcome: 'SERVER_ERROR', latencyMs: 3 });
      penalised.record({ at: T0, outcome: 'SERVER_ERROR', latencyMs: 3 });
      penalised.refresh(T0 + 10_000);
      expect(penalised.latencyMs).toBeCloseTo(1000 + 4000 / Math.E, 6);
      penalised.refresh(T0 + 120_000);
      expect(penalised.latencyMs).toBeGreaterThan(1000);
      expect(penalised.latencyMs).toBeLessThan(1001);
      const fast = new InstanceStats();
      fast.record({ at: T0, outcome: 'SUCCESS', latencyMs: 120 });
      fast.refresh(T0 + 120_000);
      expect(fast.latencyMs).toBe(120);
    });

    it('keeps a plain EWMA of TTFT, undefined until reported', () => {
      const stats = new InstanceStats();
      stats.record({ at: T0, outcome: 'SUCCESS', latencyMs: 900 });
      expect(stats.ttftMs).toBeUndefined();
      stats.record({ at: T0 + 1000, outcome: 'SUCCESS', latencyMs: 900, ttftMs: 200 });
      expect(stats.ttftMs).toBe(200);
      stats.record({ at: T0 + 11_000, outcome: 'SUCCESS', latencyMs: 900, ttftMs: 800 });
      expect(stats.ttftMs).toBeCloseTo(200 / Math.E + 800 * (1 - 1 / Math.E), 6); // no peak rule
    });
  });

  describe('slow start', () => {
    it('ramps linearly from 0.1 to 1 over 30 s after markJoined', () => {
      const stats = new InstanceStats();
      stats.markJoined(T0);
      expect(stats.slowStartFactor).toBe(0.1);
      const at = (ms: number) => (stats.refresh(T0 + ms), stats.slowStartFactor);
      expect(at(0)).toBe(0.1);
      expect(at(15_000)).toBeCloseTo(0.55, 9);
      expect(at(29_999)).toBeLessThan(1);
      expect(at(30_000)).toBe(1);
      expect(at(90_000)).toBe(1);
    });

    it('honours a custom period, and 0 disables it', () => {
      const custom = new InstanceStats({ slowStartMs: 10_000 });
      custom.markJoined(T0);
      custom.refresh(T0 + 5000);
      expect(custom.slowStartFactor).toBeCloseTo(0.55, 9);
      const disabled = new InstanceStats({ slowStartMs: 0 });
      disabled.markJoined(T0);
      expect(disabled.slowStartFactor).toBe(1);
    });
  });

  it('counts open leases and never goes below zero', () => {
    const stats = new InstanceStats();
    stats.incrementLeases();
    stats.incrementLeases();
    stats.decrementLeases();
    expect(stats.openLeases).toBe(1);
    stats.decrementLeases();
    stats.decrementLeases();
    expect(stats.openLeases).toBe(0);
  });

  it('remembers the latest report time, even when reports arrive out of order', () => {
    const stats = new InstanceStats();
    stats.record({ at: T0 + 5000, outcome: 'CLIENT_ERROR', latencyMs: 1 });
    stats.record({ at: T0 + 1000, outcome: 'SUCCESS', latencyMs: 1 });
    expect(stats.lastReportAt).toBe(T0 + 5000);
  });

  it('rejects unusable options and applies reconfiguration', () => {
    expect(() => new InstanceStats({ latencyDecayMs: 0 })).toThrow(RangeError);
    expect(() => new InstanceStats({ failurePenaltyMs: -1 })).toThrow(RangeError);
    expect(() => new InstanceStats({ neutralLatencyMs: NaN })).toThrow(RangeError);
    const stats = new InstanceStats();
    stats.configure({ neutralLatencyMs: 400, failurePenaltyMs: 9000 });
    expect(stats.latencyMs).toBe(400);
    stats.record({ at: T0, outcome: 'TIMEOUT', latencyMs: 1 });
    expect(stats.latencyMs).toBe(9000);
  });
});

/** Another node's batch of `count` successes reported just now (no latency samples). */
function successes(count: number): InstanceStatsDelta {
  const bucket = {
    ago: 0,
    outcomes: { SUCCESS: count },
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cost: 0,
  };
  return { instanceId: 'x', buckets: [bucket] };
}

function zeroByOutcome(): Record<OutcomeClass, number> {
  return Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as Record<OutcomeClass, number>;
}

function randomReport(random: () => number, at: number): RecordedOutcome {
  const amount = () => (random() < 0.7 ? Math.floor(random() * 4000) : undefined);
  return {
    at,
    outcome: OUTCOME_CLASSES[Math.floor(random() * OUTCOME_CLASSES.length)],
    latencyMs: random() * 2000,
    promptTokens: amount(),
    completionTokens: amount(),
    totalTokens: amount(),
    cost: random() < 0.7 ? Math.round(random() * 1e6) / 1e7 : undefined,
  };
}

/** The window recounted from the full log: every report whose 1 s bucket is among the last 60. */
function bruteForce(log: readonly RecordedOutcome[], now: number) {
  const nowEpoch = Math.floor(now / 1000);
  const inWindow = log.filter((r) => Math.floor(r.at / 1000) > nowEpoch - 60);
  const byOutcome = zeroByOutcome();
  for (const r of inWindow) byOutcome[r.outcome]++;
  const sum = (pick: (r: RecordedOutcome) => number | undefined) => inWindow.reduce((s, r) => s + (pick(r) ?? 0), 0);
  return {
    calls: inWindow.length,
    successes: byOutcome.SUCCESS,
    failures: inWindow.filter((r) => FAILURE_CLASSES.has(r.outcome)).length,
    byOutcome,
    promptTokens: sum((r) => r.promptTokens),
    completionTokens: sum((r) => r.completionTokens),
    totalTokens: sum((r) => r.totalTokens),
    cost: expect.closeTo(
      sum((r) => r.cost),
      9,
    ) as unknown as number,
  };
}

function expectedAfterOneMs(outcome: OutcomeClass): number | 'lower' {
  switch (outcome) {
    case 'SUCCESS':
      return 'lower';
    case 'TIMEOUT':
      return 5000;
    case 'SERVER_ERROR': // an isolated failure is not sampled (the second in a row is)
    case 'UNKNOWN':
    case 'RATE_LIMITED':
    case 'CLIENT_ERROR':
    case 'AUTH_ERROR':
      return 300;
    default: {
      const _: never = outcome;
      return _;
    }
  }
}

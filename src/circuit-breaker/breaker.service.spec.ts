import { MemoryBreakerStore } from '../state/breaker-store';
import { MemoryEventBus } from '../state/event-bus';
import type { OutcomeClass } from '../common/outcome';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig, resolveBreakerConfig } from './breaker-config';
import { type BreakerTransition, BreakerTransitions } from './breaker-transition';
import { BreakerService } from './breaker.service';

const SUBJECT = { id: 'a'.repeat(32), projectId: 'p'.repeat(32) };
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);

function setup(config: BreakerConfig = DEFAULT_BREAKER_CONFIG) {
  const transitions = new BreakerTransitions();
  const log: BreakerTransition[] = [];
  transitions.listen((t) => log.push(t));
  const breakers = new BreakerService(new MemoryBreakerStore(), transitions, new MemoryEventBus());
  breakers.random = () => 0.5; // no jitter: open times are exact
  let now = T0;
  const clock = {
    now: () => now,
    advance: (ms: number) => (now += ms),
  };
  const report = (outcome: OutcomeClass, extra: { latencyMs?: number; probeExpiresAt?: number } = {}) =>
    breakers.learn(SUBJECT, config, { outcome, latencyMs: extra.latencyMs ?? 100, ...extra }, now);
  const state = () => breakers.snapshot(SUBJECT, config, now).state;
  const check = () => breakers.check(SUBJECT, config, now);
  /** Takes a probe slot as a select would; returns the lease's expiry, or undefined if refused. */
  const probe = (ttlMs = 60_000): number | undefined => {
    const expiresAt = now + ttlMs;
    return breakers.admit(SUBJECT, config, { now, expiresAt }) ? expiresAt : undefined;
  };
  return { breakers, log, clock, report, state, check, probe, config };
}

/** Trips a fresh breaker with five consecutive SERVER_ERROR reports. */
function trip(t: ReturnType<typeof setup>): void {
  for (let i = 0; i < 5; i++) t.report('SERVER_ERROR');
}

describe('BreakerService (docs/resilience.md §2)', () => {
  describe('trip rules', () => {
    it('trips after exactly 5 consecutive SERVER_ERROR/TIMEOUT reports, naming them', () => {
      const t = setup();
      for (const outcome of ['SERVER_ERROR', 'TIMEOUT', 'SERVER_ERROR', 'TIMEOUT'] as const) t.report(outcome);
      expect(t.state()).toBe('CLOSED');
      expect(t.check()).toBeUndefined();
      t.report('TIMEOUT');
      expect(t.state()).toBe('OPEN');
      expect(t.log).toEqual([
        {
          projectId: SUBJECT.projectId,
          instanceId: SUBJECT.id,
          from: 'CLOSED',
          to: 'OPEN',
          reason: '5 consecutive failures (SERVER_ERROR, TIMEOUT)',
          at: T0,
        },
      ]);
      expect(t.check()).toEqual({
        kind: 'breaker',
        reason: 'breaker OPEN: 5 consecutive failures (SERVER_ERROR, TIMEOUT)',
        retryAt: T0 + 30_000,
      });
    });

    it('names a single-class streak plainly', () => {
      const t = setup();
      trip(t);
      expect(t.log[0].reason).toBe('5 consecutive SERVER_ERROR');
    });

    it('a success resets the consecutive count', () => {
      const t = setup();
      for (let i = 0; i < 4; i++) t.report('SERVER_ERROR');
      t.report('SUCCESS');
      for (let i = 0; i < 4; i++) t.report('SERVER_ERROR');
      expect(t.state()).toBe('CLOSED');
    });

    it('trips on ≥ 50 % failures with ≥ 10 calls in 60 s', () => {
      const t = setup();
      for (let i = 0; i < 9; i++) {
        t.report(i % 2 === 0 ? 'SERVER_ERROR' : 'SUCCESS'); // F S F S F S F S F: 5 of 9, never 5 in a row
        t.clock.advance(1000);
      }
      expect(t.state()).toBe('CLOSED'); // 9 calls: below the minimum
      t.report('SUCCESS'); // 5 of 10 = 50 %
      expect(t.state()).toBe('OPEN');
      expect(t.log[0].reason).toBe('failure rate 50 % of 10 calls in 60 s');
    });

    it('does not trip below the threshold, and forgets calls older than the window', () => {
      const t = setup();
      for (let i = 0; i < 4; i++) t.report('SERVER_ERROR');
      t.report('SUCCESS');
      t.clock.advance(61_000); // the 5 calls above leave the window
      for (let i = 0; i < 6; i++) t.report(i < 4 ? 'SERVER_ERROR' : 'SUCCESS');
      for (let i = 0; i < 4; i++) t.report('SUCCESS');
      expect(t.state()).toBe('CLOSED'); // 4 of 10 in the window = 40 %
      expect(t.breakers.snapshot(SUBJECT, t.config, t.clock.now()).window).toEqual({ calls: 10, failures: 4, slow: 0 });
    });

    it('does not trip on 1,000 CLIENT_ERROR reports or on RATE_LIMITED reports', () => {
      const t = setup();
      for (let i = 0; i < 1000; i++) t.report('CLIENT_ERROR');
      for (let i = 0; i < 1000; i++) t.report('RATE_LIMITED');
      expect(t.state()).toBe('CLOSED');
      expect(t.log).toEqual([]);
      expect(t.breakers.snapshot(SUBJECT, t.config, t.clock.now()).window.calls).toBe(0);
    });

    it('counts UNKNOWN as a failure', () => {
      const t = setup();
      for (let i = 0; i < 5; i++) t.report('UNKNOWN');
      expect(t.state()).toBe('OPEN');
    });

    it('the slow-call rule is off unless slowCallMs is set, and trips at ≥ 80 % slow when it is', () => {
      const off = setup();
      for (let i = 0; i < 20; i++) off.report('SUCCESS', { latencyMs: 60_000 });
      expect(off.state()).toBe('CLOSED');

      const on = setup(resolveBreakerConfig(undefined, undefined, 2000));
      for (let i = 0; i < 7; i++) on.report('SUCCESS', { latencyMs: 2500 });
      for (let i = 0; i < 2; i++) on.report('SUCCESS', { latencyMs: 100 });
      expect(on.state()).toBe('CLOSED');
      on.report('SUCCESS', { latencyMs: 2000 }); // 8 of 10 ≥ 2000 ms
      expect(on.state()).toBe('OPEN');
      expect(on.log[0].reason).toBe('slow calls 80 % (≥ 2000 ms) of 10 calls in 60 s');
    });

    it('AUTH_ERROR opens for 300 s at once', () => {
      const t = setup();
      t.report('AUTH_ERROR');
      expect(t.state()).toBe('OPEN');
      expect(t.check()?.retryAt).toBe(T0 + 300_000);
      expect(t.log[0].reason).toBe('AUTH_ERROR: the backend rejected the credentials');
    });

    it('AUTH_ERROR while OPEN keeps it OPEN with the new reason and deadline, and logs no second transition', () => {
      const t = setup();
      trip(t);
      expect(t.check()?.retryAt).toBe(T0 + 30_000);
      t.clock.advance(10_000);
      t.report('AUTH_ERROR');
      expect(t.state()).toBe('OPEN');
      expect(t.check()).toMatchObject({
        reason: 'breaker OPEN: AUTH_ERROR: the backend rejected the credentials',
        retryAt: T0 + 10_000 + 300_000,
      });
      expect(t.log.map((e) => `${e.from}→${e.to}`)).toEqual(['CLOSED→OPEN']);
    });

    it('ignores late failures and successes while OPEN: neither the deadline nor the reason moves', () => {
      const t = setup();
      trip(t);
      const before = t.check();
      t.clock.advance(1000);
      t.report('SERVER_ERROR');
      t.report('TIMEOUT');
      t.report('SUCCESS');
      expect(t.check()).toEqual(before);
      t.clock.advance(29_000);
      expect(t.state()).toBe('HALF_OPEN');
      expect(t.log).toHaveLength(2);
    });
  });

  describe('half-open', () => {
    it('turns HALF_OPEN when the open time is over, dated at that moment', () => {
      const t = setup();
      trip(t);
      t.clock.advance(29_999);
      expect(t.check()?.kind).toBe('breaker');
      t.clock.advance(5000);
      expect(t.check()).toBeUndefined();
      expect(t.log[1]).toMatchObject({ from: 'OPEN', to: 'HALF_OPEN', at: T0 + 30_000 });
    });

    it('admits exactly 3 concurrent probes; 3 successes close it', () => {
      const t = setup();
      trip(t);
      t.clock.advance(30_000);
      const probes = [t.probe(), t.probe(), t.probe()];
      expect(probes.every((p) => p !== undefined)).toBe(true);
      expect(t.check()).toMatchObject({ kind: 'breaker', reason: 'breaker HALF_OPEN: 3 probe calls in flight' });
      expect(t.probe()).toBeUndefined();
      t.report('SUCCESS', { probeExpiresAt: probes[0] });
      expect(t.state()).toBe('HALF_OPEN');
      t.report('SUCCESS', { probeExpiresAt: probes[1] });
      t.report('SUCCESS', { probeExpiresAt: probes[2] });
      expect(t.state()).toBe('CLOSED');
      expect(t.log.at(-1)).toMatchObject({ from: 'HALF_OPEN', to: 'CLOSED', reason: '3 probe calls succeeded' });
    });

    it('ignores reports of calls made before the trip while HALF_OPEN', () => {
      const t = setup();
      trip(t);
      t.clock.advance(30_000);
      t.probe();
      t.report('SERVER_ERROR'); // not a probe: a late report
      t.report('SUCCESS');
      expect(t.state()).toBe('HALF_OPEN');
    });

    it('a probe failure re-opens for 60 s (2nd trip), then 90 s, …, capped at 300 s', () => {
      const t = setup();
      trip(t);
      const openTimes: number[] = [];
      for (let i = 0; i < 12; i++) {
        t.clock.advance(t.check()!.retryAt! - t.clock.now());
        const expiresAt = t.probe()!;
        t.report('TIMEOUT', { probeExpiresAt: expiresAt });
        openTimes.push(t.check()!.retryAt! - t.clock.now());
      }
      expect(openTimes.slice(0, 10)).toEqual([60, 90, 120, 150, 180, 210, 240, 270, 300, 300].map((s) => s * 1000));
      expect(t.log.at(-1)?.reason).toBe('probe call failed with TIMEOUT');
    });

    it('jitters open times by at most ±10 %', () => {
      const t = setup();
      t.breakers.random = () => 0;
      trip(t);
      expect(t.check()!.retryAt! - T0).toBe(27_000);
      const u = setup();
      u.breakers.random = () => 0.999_999;
      trip(u);
      expect(u.check()!.retryAt! - T0).toBe(33_000);
    });

    it('a healthy stretch decays the multiplier by one per minute', () => {
      const t = setup();
      trip(t); // trip 1
      const reopen = () => {
        t.clock.advance(t.check()!.retryAt! - t.clock.now());
        t.report('SERVER_ERROR', { probeExpiresAt: t.probe() });
      };
      reopen(); // trip 2: 60 s
      reopen(); // trip 3: 90 s
      t.clock.advance(t.check()!.retryAt! - t.clock.now());
      for (let i = 0; i < 3; i++) t.report('SUCCESS', { probeExpiresAt: t.probe() });
      expect(t.breakers.snapshot(SUBJECT, t.config, t.clock.now()).trips).toBe(3);
      t.clock.advance(2 * 60_000); // two healthy minutes: 3 → 1
      expect(t.breakers.snapshot(SUBJECT, t.config, t.clock.now()).trips).toBe(1);
      trip(t); // next trip is the 2nd again: 60 s
      expect(t.check()!.retryAt! - t.clock.now()).toBe(60_000);
    });

    it('an unreported probe frees its slot at lease expiry', () => {
      const t = setup();
      trip(t);
      t.clock.advance(30_000);
      const silent = [t.probe(5000)!, t.probe(5000)!, t.probe(5000)!];
      expect(t.probe()).toBeUndefined();
      t.clock.advance(5000);
      t.breakers.releaseProbe(SUBJECT.id, silent[0]); // what the lease expiry listener does
      expect(t.check()).toBeUndefined();
      expect(t.probe()).toBeDefined();
    });

    it('least-bad forces a probe on an OPEN breaker, early', () => {
      const t = setup();
      trip(t);
      t.clock.advance(1000);
      expect(
        t.breakers.admit(SUBJECT, t.config, { now: t.clock.now(), expiresAt: t.clock.now() + 60_000, force: true }),
      ).toBe(true);
      expect(t.state()).toBe('HALF_OPEN');
      expect(t.log.at(-1)?.reason).toBe('probing early: least-bad selection while OPEN');
    });
  });

  describe('operator states', () => {
    it('FORCED_OPEN keeps the instance out for good; AUTO hands back a fresh CLOSED breaker', () => {
      const t = setup();
      t.breakers.setOperatorState(SUBJECT, 'FORCED_OPEN', T0);
      expect(t.check()).toEqual({ kind: 'operator', reason: 'breaker FORCED_OPEN by an operator' });
      t.clock.advance(3_600_000);
      expect(t.state()).toBe('FORCED_OPEN');
      for (let i = 0; i < 10; i++) t.report('SUCCESS');
      expect(t.state()).toBe('FORCED_OPEN');
      t.breakers.setOperatorState(SUBJECT, 'AUTO', t.clock.now());
      expect(t.state()).toBe('CLOSED');
      expect(t.log.map((e) => `${e.from}→${e.to} ${e.reason}`)).toEqual([
        'CLOSED→FORCED_OPEN operator: FORCED_OPEN',
        'FORCED_OPEN→CLOSED operator: AUTO',
      ]);
    });

    it('an override restored at start-up holds as set, without being logged again', () => {
      const t = setup();
      t.breakers.restoreOperatorState(SUBJECT, 'FORCED_OPEN', T0 - 60_000);
      expect(t.state()).toBe('FORCED_OPEN');
      expect(t.check()).toEqual({ kind: 'operator', reason: 'breaker FORCED_OPEN by an operator' });
      expect(t.breakers.snapshot(SUBJECT, t.config, T0)).toMatchObject({
        state: 'FORCED_OPEN',
        reason: 'operator: FORCED_OPEN',
        since: T0 - 60_000,
      });
      t.breakers.restoreOperatorState(SUBJECT, 'DISABLED', T0);
      trip(t);
      expect(t.state()).toBe('DISABLED');
      expect(t.log).toEqual([]);
    });

    it('DISABLED never trips and is always selectable', () => {
      const t = setup();
      trip(t);
      t.breakers.setOperatorState(SUBJECT, 'DISABLED', T0);
      expect(t.check()).toBeUndefined();
      for (let i = 0; i < 50; i++) t.report('SERVER_ERROR');
      expect(t.state()).toBe('DISABLED');
      expect(t.check()).toBeUndefined();
    });
  });

  describe('configuration', () => {
    it('project settings override defaults and instance overrides win over both', () => {
      const config = resolveBreakerConfig(
        { consecutiveFailures: 3, openSeconds: 10, halfOpenProbes: 1 },
        { consecutiveFailures: 2 },
        undefined,
      );
      expect(config).toMatchObject({ consecutiveFailures: 2, openMs: 10_000, halfOpenProbes: 1, maxOpenMs: 300_000 });
      const t = setup(config);
      t.report('SERVER_ERROR');
      t.report('SERVER_ERROR');
      expect(t.state()).toBe('OPEN');
      expect(t.check()!.retryAt! - T0).toBe(10_000);
    });

    it('an open time above the cap is capped', () => {
      expect(resolveBreakerConfig({ openSeconds: 600, maxOpenSeconds: 120 }, undefined, undefined)).toMatchObject({
        openMs: 120_000,
        maxOpenMs: 120_000,
        authOpenMs: 120_000,
      });
    });
  });
});

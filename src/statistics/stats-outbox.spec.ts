import { mulberry32 as prng } from '../../test/utils/mulberry32';
import { FakeClock } from '../common/clock';
import { OUTCOME_CLASSES } from '../common/outcome';
import { InstanceStats, type RecordedOutcome } from './instance-stats';
import { StatsOutbox } from './stats-outbox';

const T0 = Date.UTC(2026, 0, 1);

/** Node A's stats sharing into an outbox, and node B's stats that absorb what A sends. */
function pair() {
  const sent: StatsOutbox[] = [];
  const a = new InstanceStats();
  const outbox = new StatsOutbox('inst', (o) => sent.push(o));
  a.shareTo(outbox);
  const b = new InstanceStats();
  const bOutbox = new StatsOutbox('inst', () => {
    throw new Error('B must not share what it absorbed');
  });
  b.shareTo(bOutbox);
  /** A's batch so far, sent and absorbed by B at `now`. */
  const flush = (now: number): void => {
    const delta = outbox.take(now);
    if (delta !== undefined) b.absorb(JSON.parse(JSON.stringify(delta)) as typeof delta, now);
  };
  return { a, b, outbox, bOutbox, sent, flush };
}

describe('StatsOutbox and InstanceStats.absorb', () => {
  it('hands on a batch of one report exactly: window, latency, TTFT, last report', () => {
    const { a, b, sent, flush } = pair();
    const report: RecordedOutcome = {
      at: T0 + 10,
      outcome: 'SUCCESS',
      latencyMs: 420,
      ttftMs: 95,
      promptTokens: 100,
      completionTokens: 50,
      totalTokens: 150,
      cost: 0.02,
    };
    a.record(report);
    expect(sent).toHaveLength(1);
    flush(T0 + 200);
    a.refresh(T0 + 200);
    b.refresh(T0 + 200);
    expect(b.windowTotals()).toEqual(a.windowTotals());
    expect(b).toMatchObject({ latencyMs: 420, ttftMs: 95, calls: 1, successes: 1, lastReportAt: T0 + 200 });
  });

  it('asks to be sent once per batch, and an empty outbox sends nothing', () => {
    const { a, outbox, sent } = pair();
    for (let i = 0; i < 5; i++) a.record({ at: T0 + i, outcome: 'SUCCESS', latencyMs: 10 });
    expect(sent).toHaveLength(1);
    expect(outbox.take(T0 + 10)?.buckets).toEqual([
      { ago: 6, outcomes: { SUCCESS: 5 }, promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 },
    ]);
    expect(outbox.take(T0 + 20)).toBeUndefined();
    a.record({ at: T0 + 30, outcome: 'TIMEOUT', latencyMs: 10 });
    expect(sent).toHaveLength(2);
  });

  it('keeps a peak whatever the order, and applies two samples as A did', () => {
    for (const [first, second] of [
      [100, 900],
      [900, 100],
      [300, 300],
    ]) {
      const { a, b, flush } = pair();
      a.record({ at: T0, outcome: 'SUCCESS', latencyMs: first });
      a.record({ at: T0 + 2000, outcome: 'SUCCESS', latencyMs: second });
      flush(T0 + 2100);
      a.refresh(T0 + 2100);
      b.refresh(T0 + 2100);
      expect(b.latencyMs).toBeCloseTo(a.latencyMs, 9);
    }
  });

  it('penalises failures on the sending node, and leaves rate limits out of the latency', () => {
    const { a, b, flush } = pair();
    a.record({ at: T0, outcome: 'SUCCESS', latencyMs: 200 });
    flush(T0 + 100);
    a.record({ at: T0 + 300, outcome: 'RATE_LIMITED', latencyMs: 1 });
    a.record({ at: T0 + 310, outcome: 'SERVER_ERROR', latencyMs: 3 });
    a.record({ at: T0 + 320, outcome: 'SERVER_ERROR', latencyMs: 3 }); // the second in a row is penalised
    flush(T0 + 400);
    a.refresh(T0 + 400);
    b.refresh(T0 + 400);
    expect(b.latencyMs).toBe(5000);
    expect(b.windowTotals().byOutcome).toMatchObject({ SUCCESS: 1, RATE_LIMITED: 1, SERVER_ERROR: 2 });
    expect([b.calls, b.failures]).toEqual([4, 2]);
  });

  it('counts a batch that spans more seconds than it has rows for: every report, in its last second', () => {
    const { a, b, flush } = pair();
    for (let s = 0; s < 7; s++) a.record({ at: T0 + s * 1000, outcome: 'SUCCESS', latencyMs: 10, totalTokens: 1 });
    flush(T0 + 6000);
    b.refresh(T0 + 6000);
    expect(b.windowTotals()).toMatchObject({ calls: 7, successes: 7, totalTokens: 7 });
  });

  it.each([3, 11, 2026])(
    'keeps B within a few percent of A over a minute of batches, counts exactly equal (seed %d)',
    (seed) => {
      const random = prng(seed);
      const clock = new FakeClock(T0);
      const { a, b, flush } = pair();
      let nextFlush = T0 + 250;
      let worst = 0;
      for (let step = 0; step < 6000; step++) {
        clock.advance(1 + Math.floor(random() * 20));
        const now = clock.now();
        // A latency that steps between regimes, with noise and the odd failure.
        const base = now - T0 < 20_000 ? 120 : now - T0 < 40_000 ? 600 : 80;
        const roll = random();
        const outcome = roll < 0.03 ? 'SERVER_ERROR' : roll < 0.05 ? 'RATE_LIMITED' : 'SUCCESS';
        a.record({ at: now, outcome, latencyMs: base * (0.8 + 0.4 * random()), ttftMs: base / 4, totalTokens: 10 });
        if (now >= nextFlush) {
          flush(now);
          nextFlush += 250;
          a.refresh(now);
          b.refresh(now);
          worst = Math.max(worst, Math.abs(b.latencyMs - a.latencyMs) / a.latencyMs);
          expect(b.ttftMs).toBeCloseTo(a.ttftMs!, -1);
        }
      }
      flush(clock.now());
      a.refresh(clock.now());
      b.refresh(clock.now());
      expect(b.windowTotals()).toEqual(a.windowTotals());
      expect(worst).toBeLessThan(0.05);
    },
  );

  it('dates the parts of the latency that are empty at 0, not at the epoch', () => {
    const { a, outbox } = pair();
    a.record({ at: T0, outcome: 'SUCCESS', latencyMs: 100 });
    expect(outbox.take(T0 + 50)?.latency).toEqual({
      beforeCount: 0,
      beforeMean: 0,
      beforeAgo: 0,
      peak: 100,
      peakAgo: 50,
      afterCount: 0,
      afterMean: 0,
      afterAgo: 0,
    });
  });

  it('counts every outcome class', () => {
    const { a, b, flush } = pair();
    OUTCOME_CLASSES.forEach((outcome, i) => a.record({ at: T0 + i, outcome, latencyMs: 50 }));
    flush(T0 + 100);
    expect(b.windowTotals(T0 + 100)).toEqual(a.windowTotals(T0 + 100));
  });
});

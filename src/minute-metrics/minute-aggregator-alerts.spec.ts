import { Logger } from '@nestjs/common';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { FakeClock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { MemoryBreakerStore } from '../state/breaker-store';
import { MemoryEventBus } from '../state/event-bus';
import type { StateEvent } from '../state/state-events';
import { MinuteAggregator } from './minute-aggregator';
import type { MinuteMetricsStore } from './minute-metrics.store';

const P = 'a'.repeat(32);
const A = 'b'.repeat(32);
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);

/** The alerts of the write-behind: `write-behind.failed` once when writes start failing, `recovered` once after. */
describe('MinuteAggregator alerts', () => {
  beforeEach(() => {
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('publishes write-behind.failed at the first failed flush (without quoted values), and write-behind.recovered when a flush works again', async () => {
    const clock = new FakeClock(T0);
    let down = true;
    const store = {
      upsert: () =>
        down ? Promise.reject(new Error("connect ECONNREFUSED for user 'gw'@'10.0.0.5'")) : Promise.resolve(),
      ping: () => Promise.resolve(!down),
      existingProjects: (ids: readonly string[]) => Promise.resolve(new Set(ids)),
      purgeBefore: () => Promise.resolve(0),
    };
    const events = new MemoryEventBus();
    const heard: StateEvent[] = [];
    events.subscribe('write-behind.failed', (event) => heard.push(event));
    events.subscribe('write-behind.recovered', (event) => heard.push(event));
    const config = loadConfig({ GATEWAY_SQLITE_PATH: ':memory:' });
    const breakers = new BreakerService(new MemoryBreakerStore(), new BreakerTransitions(), events);
    const aggregator = new MinuteAggregator(store as unknown as MinuteMetricsStore, clock, config, breakers, events);
    aggregator.recordReport(P, A, T0, { outcome: 'SUCCESS', latencyMs: 100, receivedAt: T0 }, 0);

    for (let i = 0; i < 4; i++) {
      await aggregator.flush();
      clock.advance(30_000);
    }
    expect(heard).toEqual([
      {
        type: 'write-behind.failed',
        log: 'minute-metrics',
        error: "connect ECONNREFUSED for user '…'@'…'",
        held: 1,
        at: T0,
      },
    ]);
    down = false;
    await aggregator.flush();
    expect(heard[1]).toEqual({
      type: 'write-behind.recovered',
      log: 'minute-metrics',
      failedAttempts: 4,
      at: T0 + 120_000,
    });
    await aggregator.flush();
    expect(heard).toHaveLength(2);
  });
});

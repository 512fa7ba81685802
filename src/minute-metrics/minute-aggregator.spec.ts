import { BreakerTransitions } from '../circuit-breaker/breaker-transition';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { MemoryBreakerStore } from '../state/breaker-store';
import { MemoryEventBus } from '../state/event-bus';
import { FakeClock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import type { MinuteBucket } from './minute-bucket';
import { MinuteAggregator } from './minute-aggregator';
import type { MinuteMetricsStore } from './minute-metrics.store';

const P = 'p'.repeat(32);
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

/** A store that records what it was asked to write, and fails while `down` is set. */
class FakeStore {
  down = false;
  written: { instanceId: string; minute: number; calls: number; selections: number }[] = [];
  projects = new Set([P]);

  upsert(buckets: readonly MinuteBucket[]): Promise<void> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
    for (const b of buckets) {
      this.written.push({ instanceId: b.instanceId, minute: b.minute, calls: b.calls, selections: b.selections });
    }
    return Promise.resolve();
  }

  existingProjects(ids: readonly string[]): Promise<Set<string>> {
    if (this.down) return Promise.reject(new Error('down'));
    return Promise.resolve(new Set(ids.filter((id) => this.projects.has(id))));
  }

  purgeBefore(): Promise<number> {
    return Promise.resolve(0);
  }

  total(): number {
    return this.written.reduce((sum, row) => sum + row.calls, 0);
  }
}

function setup(bufferRows = 1000) {
  const clock = new FakeClock(Date.UTC(2026, 10, 29, 12, 0, 0));
  const store = new FakeStore();
  const config = loadConfig({ GATEWAY_METRICS_BUFFER_ROWS: String(bufferRows), GATEWAY_SQLITE_PATH: ':memory:' });
  const events = new MemoryEventBus();
  const breakers = new BreakerService(new MemoryBreakerStore(), new BreakerTransitions(), events);
  const aggregator = new MinuteAggregator(store as unknown as MinuteMetricsStore, clock, config, breakers, events);
  const report = (instanceId = A, projectId = P) =>
    aggregator.recordReport(
      projectId,
      instanceId,
      clock.now(),
      { outcome: 'SUCCESS', latencyMs: 100, receivedAt: clock.now() },
      0,
    );
  return { clock, store, aggregator, report };
}

describe('MinuteAggregator', () => {
  it('aggregates per instance and minute and writes each row once per flush', async () => {
    const { clock, store, aggregator, report } = setup();
    report();
    report();
    report(B);
    aggregator.recordSelection(P, A, clock.now(), 3);
    clock.advance(60_000);
    report();
    expect(await aggregator.flush()).toBe(3);
    expect(store.written).toEqual([
      { instanceId: A, minute: Date.UTC(2026, 10, 29, 12, 1), calls: 1, selections: 0 },
      { instanceId: A, minute: Date.UTC(2026, 10, 29, 12, 0), calls: 2, selections: 1 },
      { instanceId: B, minute: Date.UTC(2026, 10, 29, 12, 0), calls: 1, selections: 0 },
    ]);
    expect(await aggregator.flush()).toBe(0);
  });

  it('keeps rows while the database is down, retries with backoff, and loses nothing', async () => {
    const { clock, store, aggregator, report } = setup();
    store.down = true;
    for (let i = 0; i < 10; i++) report();
    expect(await aggregator.flush()).toBe(0);
    expect(aggregator.stats).toMatchObject({ failedFlushes: 1, bufferedRows: 1 });
    report();
    expect(await aggregator.flush()).toBe(0); // backoff: not even attempted
    expect(aggregator.stats.failedFlushes).toBe(1);
    clock.advance(1000);
    expect(await aggregator.flush()).toBe(0); // attempted, failed again: next in 2 s
    expect(aggregator.stats.failedFlushes).toBe(2);
    clock.advance(1000);
    await aggregator.flush();
    expect(aggregator.stats.failedFlushes).toBe(2);
    store.down = false;
    clock.advance(1000);
    expect(await aggregator.flush()).toBe(1);
    expect(store.total()).toBe(11);
    expect(aggregator.stats).toMatchObject({ bufferedRows: 0, droppedRows: 0 });
  });

  it('caps the backoff at 30 s', async () => {
    const { clock, store, aggregator, report } = setup();
    store.down = true;
    report();
    for (let i = 0; i < 12; i++) {
      await aggregator.flush(true);
    }
    const failures = aggregator.stats.failedFlushes;
    clock.advance(29_999);
    await aggregator.flush();
    expect(aggregator.stats.failedFlushes).toBe(failures);
    clock.advance(1);
    await aggregator.flush();
    expect(aggregator.stats.failedFlushes).toBe(failures + 1);
  });

  it('drops the oldest minutes beyond the buffer, counted', async () => {
    const { clock, store, aggregator, report } = setup(1000);
    store.down = true;
    for (let minute = 0; minute < 1005; minute++) {
      report();
      report();
      clock.advance(60_000);
    }
    await aggregator.flush(true);
    expect(aggregator.stats).toMatchObject({ droppedRows: 5, droppedReports: 10, bufferedRows: 1000 });
    store.down = false;
    await aggregator.flush(true);
    expect(store.total()).toBe(2000);
    expect(Math.min(...store.written.map((row) => row.minute))).toBe(Date.UTC(2026, 10, 29, 12, 5));
  });

  it('drops the rows of a deleted project instead of blocking on them', async () => {
    const { store, aggregator, report } = setup();
    const gone = 'g'.repeat(32);
    report(A, gone);
    report(B);
    aggregator.dropProject(gone);
    await aggregator.flush();
    expect(store.written.map((row) => row.instanceId)).toEqual([B]);
  });

  it('a flush started during another waits, and nothing is written twice', async () => {
    const { aggregator, store, report } = setup();
    report();
    const first = aggregator.flush();
    report();
    const second = aggregator.flush();
    await Promise.all([first, second]);
    expect(store.total()).toBe(2);
    expect(await aggregator.flush()).toBe(0);
  });
});

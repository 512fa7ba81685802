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

/**
 * A store that records what it was asked to write, fails while `down` is set, and refuses the
 * next `refuseWrites` writes while still answering queries (a foreign-key failure, say).
 */
class FakeStore {
  down = false;
  refuseWrites = 0;
  written: {
    instanceId: string;
    minute: number;
    calls: number;
    selections: number;
    breakerState: string | null;
    lastReportAt: number | null;
  }[] = [];
  projects = new Set([P]);
  purgedBefore: number[] = [];

  upsert(buckets: readonly MinuteBucket[]): Promise<void> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
    if (this.refuseWrites > 0) {
      this.refuseWrites--;
      return Promise.reject(new Error('a foreign key constraint fails'));
    }
    for (const b of buckets) {
      this.written.push({
        instanceId: b.instanceId,
        minute: b.minute,
        calls: b.calls,
        selections: b.selections,
        breakerState: b.breakerState,
        lastReportAt: b.lastReportAt,
      });
    }
    return Promise.resolve();
  }

  existingProjects(ids: readonly string[]): Promise<Set<string>> {
    if (this.down) return Promise.reject(new Error('down'));
    return Promise.resolve(new Set(ids.filter((id) => this.projects.has(id))));
  }

  purgeBefore(before: number): Promise<number> {
    this.purgedBefore.push(before);
    return Promise.resolve(7);
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
  return { clock, store, aggregator, report, events, breakers };
}

const rows = (store: FakeStore) =>
  store.written.map(({ instanceId, minute, calls, selections }) => ({ instanceId, minute, calls, selections }));

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
    expect(rows(store)).toEqual([
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
  it('keeps a late report of an earlier minute apart from the latest one, and writes both', async () => {
    const { clock, store, aggregator } = setup();
    const at = clock.now();
    const report = (when: number) =>
      aggregator.recordReport(P, A, when, { outcome: 'SUCCESS', latencyMs: 10, receivedAt: clock.now() }, 0);
    report(at + 60_000);
    report(at); // late: an earlier minute after a later one
    report(at + 60_000);
    report(at);
    report(at - 60_000);
    expect(await aggregator.flush()).toBe(3);
    expect(rows(store).sort((x, y) => x.minute - y.minute)).toEqual([
      { instanceId: A, minute: at - 60_000, calls: 1, selections: 0 },
      { instanceId: A, minute: at, calls: 2, selections: 0 },
      { instanceId: A, minute: at + 60_000, calls: 2, selections: 0 },
    ]);
  });

  it('merges a row held after a failure with the same minute aggregated meanwhile', async () => {
    const { clock, store, aggregator, report } = setup();
    report();
    store.down = true;
    await aggregator.flush();
    clock.advance(1000);
    report();
    report();
    store.down = false;
    expect(await aggregator.flush(true)).toBe(1);
    expect(rows(store)).toEqual([{ instanceId: A, minute: Date.UTC(2026, 10, 29, 12, 0), calls: 3, selections: 0 }]);
    expect(store.written[0].lastReportAt).toBe(clock.now());
  });

  it('writes the time of the last report and the breaker state of the current and previous minute only', async () => {
    const { clock, store, aggregator, breakers } = setup();
    const start = clock.now();
    const report = (when: number) =>
      aggregator.recordReport(P, A, when, { outcome: 'SUCCESS', latencyMs: 10, receivedAt: when + 5 }, 0);
    report(start);
    report(start + 60_000);
    report(start + 120_000);
    clock.advance(120_000);
    breakers.setOperatorState({ id: A, projectId: P }, 'FORCED_OPEN', clock.now());
    await aggregator.flush();
    const byMinute = new Map(store.written.map((row) => [row.minute - start, row]));
    expect(byMinute.get(0)).toMatchObject({ breakerState: null, lastReportAt: start + 5 });
    expect(byMinute.get(60_000)).toMatchObject({ breakerState: 'FORCED_OPEN', lastReportAt: start + 60_005 });
    expect(byMinute.get(120_000)).toMatchObject({ breakerState: 'FORCED_OPEN', lastReportAt: start + 120_005 });
  });

  it('forgets pending and held rows of a project deleted (the event), and writes the others', async () => {
    const { store, aggregator, report, events } = setup();
    aggregator.onModuleInit();
    const gone = 'e'.repeat(32);
    report(A, gone);
    report(B);
    store.down = true;
    await aggregator.flush(); // both held now
    report(A, gone); // and pending again
    events.publish({ type: 'project.deleted', projectId: gone });
    store.down = false;
    expect(await aggregator.flush(true)).toBe(1);
    expect(rows(store).map((row) => row.instanceId)).toEqual([B]);
    expect(aggregator.stats.bufferedRows).toBe(0);
    await aggregator.onApplicationShutdown();
  });

  it('after a refused write drops the rows of projects that no longer exist, and retries the others', async () => {
    const { store, aggregator, report } = setup();
    const gone = 'e'.repeat(32);
    report(A, gone); // a project deleted on another node: its rows can never be written
    report(B);
    store.refuseWrites = 1;
    expect(await aggregator.flush()).toBe(0);
    expect(await aggregator.flush(true)).toBe(1);
    expect(rows(store).map((row) => row.instanceId)).toEqual([B]);
  });

  it('keeps every row when the check for deleted projects fails too (the database is down)', async () => {
    const { store, aggregator, report } = setup();
    report(A, 'e'.repeat(32));
    report(B);
    store.down = true;
    expect(await aggregator.flush()).toBe(0);
    expect(aggregator.stats.bufferedRows).toBe(2);
  });

  it('purges minutes older than the retention (30 days by default), counted from the current minute', async () => {
    const { clock, store, aggregator } = setup();
    clock.advance(42_000);
    expect(await aggregator.purge()).toBe(7);
    expect(store.purgedBefore).toEqual([Date.UTC(2026, 10, 29, 12, 0) - 30 * 24 * 3_600_000]);
  });

  it('writes what is left on shutdown, even inside a backoff', async () => {
    const { store, aggregator, report } = setup();
    report();
    store.down = true;
    await aggregator.flush();
    store.down = false;
    report(B);
    await aggregator.beforeApplicationShutdown();
    expect(
      rows(store)
        .map((row) => row.instanceId)
        .sort(),
    ).toEqual([A, B]);
    report();
    await aggregator.onApplicationShutdown();
    expect(store.total()).toBe(3);
    await aggregator.onApplicationShutdown(); // nothing left: nothing written
    expect(store.written).toHaveLength(3);
  });
});

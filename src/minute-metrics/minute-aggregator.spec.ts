import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
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
const C = 'c'.repeat(32);

/**
 * A store that records what it was asked to write. While `down` is set nothing answers; otherwise
 * a write fails whole (as one transaction does) when it holds a row of an unknown project (the
 * foreign key) or of an instance in `refused` (a row the database refuses), and the next
 * `refuseWrites` writes fail whatever they hold (a deadlock, say).
 */
class FakeStore {
  down = false;
  refuseWrites = 0;
  readonly refused = new Set<string>();
  /** Calls of `upsert`, successful or not. */
  upserts = 0;
  pings = 0;
  /** Runs before each `upsert` (e.g. to take the database down mid-way). */
  beforeUpsert: (call: number) => void = () => undefined;
  /** What `purgeBefore` answers; it fails while `purgeDown` is set. */
  purgeable = 7;
  purgeDown = false;
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
    this.upserts++;
    this.beforeUpsert(this.upserts);
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
    if (this.refuseWrites > 0) {
      this.refuseWrites--;
      return Promise.reject(new Error('Deadlock found when trying to get lock'));
    }
    if (buckets.some((b) => !this.projects.has(b.projectId))) {
      return Promise.reject(new Error('a foreign key constraint fails'));
    }
    const bad = buckets.find((b) => this.refused.has(b.instanceId));
    if (bad) return Promise.reject(refusal(bad.instanceId));
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

  ping(): Promise<boolean> {
    this.pings++;
    return Promise.resolve(!this.down);
  }

  existingProjects(ids: readonly string[]): Promise<Set<string>> {
    if (this.down) return Promise.reject(new Error('down'));
    return Promise.resolve(new Set(ids.filter((id) => this.projects.has(id))));
  }

  purgeBefore(before: number): Promise<number> {
    this.purgedBefore.push(before);
    if (this.purgeDown) return Promise.reject(new Error('purge refused'));
    return Promise.resolve(this.purgeable);
  }

  total(): number {
    return this.written.reduce((sum, row) => sum + row.calls, 0);
  }
}

/** A database's refusal as TypeORM reports it: the statement and its parameters ride along. */
function refusal(instanceId: string): Error {
  return Object.assign(new Error(`Out of range value for column 'calls' at row 1`), {
    query: 'INSERT INTO instance_metrics_minute …',
    parameters: [instanceId, 'secret-ish parameter'],
  });
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

const MINUTE_AT_START = Date.UTC(2026, 10, 29, 12, 0);

/** Every line logged through Nest's `Logger`, by level, with all its arguments (the context last). */
let logged: { level: 'log' | 'error' | 'warn'; args: unknown[] }[] = [];
const recorder: LoggerService = {
  log: (...args: unknown[]) => logged.push({ level: 'log', args }),
  error: (...args: unknown[]) => logged.push({ level: 'error', args }),
  warn: (...args: unknown[]) => logged.push({ level: 'warn', args }),
};
const logsAt = (level: 'log' | 'error' | 'warn') =>
  logged.filter((line) => line.level === level).map((line) => line.args);

beforeEach(() => {
  logged = [];
  Logger.overrideLogger(recorder);
});
afterAll(() => {
  Logger.overrideLogger(new ConsoleLogger());
});

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
    expect(logsAt('warn')).toEqual([
      ['Minute metrics buffer full (1000 rows): dropped the 5 oldest rows (10 reports)', 'Metrics'],
    ]);
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

  it('after a refused write drops the rows of projects that no longer exist, and writes the others at once', async () => {
    const { store, aggregator, report } = setup();
    const gone = 'e'.repeat(32);
    report(A, gone); // a project deleted on another node: its rows can never be written
    report(B);
    expect(await aggregator.flush()).toBe(1);
    expect(rows(store).map((row) => row.instanceId)).toEqual([B]);
    expect(aggregator.stats).toMatchObject({ bufferedRows: 0, rejectedRows: 0, failedFlushes: 0 });
  });

  it("keeps every row, a deleted project's too, when the database does not answer", async () => {
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

  describe('a row the database refuses while it answers', () => {
    /** `count` instances of P with one report each, the first `bad` of them refused by the database. */
    const many = (count: number, bad: number) => {
      const context = setup();
      const ids = Array.from({ length: count }, (_, i) => i.toString(16).padStart(32, '0'));
      ids.forEach((id, i) => {
        context.report(id);
        if (i < bad) context.store.refused.add(id);
      });
      return { ...context, ids };
    };

    it('writes every other row at once, and drops only the bad one, counted, named in one warning (no SQL)', async () => {
      const { clock, store, aggregator, report } = setup();
      store.refused.add(A);
      report(A);
      report(A);
      report(B);
      report(C);
      expect(await aggregator.flush()).toBe(2);
      expect(rows(store).map((row) => row.instanceId)).toEqual([B, C]);
      expect(aggregator.stats).toMatchObject({
        flushedRows: 2,
        rejectedRows: 1,
        rejectedReports: 2,
        failedFlushes: 0,
        bufferedRows: 0,
      });
      expect(logsAt('warn')).toEqual([
        [
          {
            rows: [
              {
                projectId: P,
                instanceId: A,
                minute: new Date(MINUTE_AT_START).toISOString(),
                error: "Out of range value for column 'calls' at row 1",
              },
            ],
            rejectedRows: 1,
            reports: 2,
          },
          'The database refused 1 minute-metric rows on their own (2 reports): dropped; the other rows were written',
          'Metrics',
        ],
      ]);
      expect(logsAt('error')).toEqual([]);
      // The database was never down: no backoff holds the next flush back.
      clock.advance(1);
      report(B);
      expect(await aggregator.flush()).toBe(1);
    });

    it('finds one bad row among 64 in about 2·log2(64) writes, and writes the 63 others', async () => {
      const { store, aggregator } = many(64, 0);
      store.refused.add((37).toString(16).padStart(32, '0'));
      expect(await aggregator.flush()).toBe(63);
      expect(store.written).toHaveLength(63);
      // The failed flush, the first retry of everything, then two halves at each of 6 levels.
      expect(store.upserts).toBeLessThanOrEqual(2 + 2 * 6);
      expect(aggregator.stats).toMatchObject({ rejectedRows: 1, bufferedRows: 0 });
    });

    it('drops each of several bad rows, and names at most 20 of them in its one warning', async () => {
      const { store, aggregator, ids } = many(30, 25);
      expect(await aggregator.flush()).toBe(5);
      expect(store.written.map((row) => row.instanceId)).toEqual(ids.slice(25));
      expect(aggregator.stats).toMatchObject({ rejectedRows: 25, rejectedReports: 25, bufferedRows: 0 });
      const warnings = logsAt('warn');
      expect(warnings).toHaveLength(1);
      const [details] = warnings[0] as [{ rows: { instanceId: string }[]; rejectedRows: number }];
      expect(details.rows.map((row) => row.instanceId)).toEqual(ids.slice(0, 20));
      expect(details.rejectedRows).toBe(25);
    });

    it('holds a refused row while nothing else could be written (the database may refuse every write), then drops it', async () => {
      const { clock, store, aggregator, report } = setup();
      store.refused.add(A);
      report(A);
      expect(await aggregator.flush()).toBe(0);
      expect(aggregator.stats).toMatchObject({ bufferedRows: 1, rejectedRows: 0, failedFlushes: 1 });
      expect(logsAt('warn')).toEqual([]);
      expect(logsAt('error')).toHaveLength(1);
      report(B);
      expect(await aggregator.flush()).toBe(0); // the backoff holds
      clock.advance(1000);
      expect(await aggregator.flush()).toBe(1);
      expect(rows(store).map((row) => row.instanceId)).toEqual([B]);
      expect(aggregator.stats).toMatchObject({ bufferedRows: 0, rejectedRows: 1 });
    });

    it('keeps every row not yet written, and backs off, when the database stops answering mid-way', async () => {
      const { clock, store, aggregator, ids } = many(8, 1);
      // 1: the flush, 2: all again, 3: the first half (fails: it holds the bad row), 4: its first half…
      store.beforeUpsert = (call) => {
        if (call === 4) store.down = true;
      };
      expect(await aggregator.flush()).toBe(0);
      expect(aggregator.stats).toMatchObject({ bufferedRows: 8, rejectedRows: 0, failedFlushes: 1 });
      expect(logsAt('warn')).toEqual([]);
      store.down = false;
      store.refused.clear();
      clock.advance(1000);
      expect(await aggregator.flush()).toBe(8);
      expect(store.written.map((row) => row.instanceId).sort()).toEqual([...ids].sort());
    });

    it('counts what it wrote before the database went away, and keeps only the rest', async () => {
      const { store, aggregator } = many(8, 0);
      store.refused.add((7).toString(16).padStart(32, '0'));
      // 3 writes the first half (4 rows); 4 fails on the second; its halves find the database gone.
      store.beforeUpsert = (call) => {
        if (call === 5) store.down = true;
      };
      expect(await aggregator.flush()).toBe(4);
      expect(aggregator.stats).toMatchObject({ flushedRows: 4, bufferedRows: 4, rejectedRows: 0, failedFlushes: 1 });
    });

    it('retries a write refused once (a deadlock) in parts at once, dropping nothing', async () => {
      const { store, aggregator, report } = setup();
      report(A);
      report(B);
      store.refuseWrites = 1;
      expect(await aggregator.flush()).toBe(2);
      expect(store.upserts).toBe(2);
      expect(store.pings).toBe(1);
      expect(aggregator.stats).toMatchObject({ rejectedRows: 0, failedFlushes: 0, bufferedRows: 0 });
    });

    it('logs the error of a failed flush without the statement or its parameters', async () => {
      const { store, aggregator, report } = setup();
      store.refused.add(A);
      report(A);
      await aggregator.flush();
      const [[details]] = logsAt('error') as [[{ err: Error }]];
      expect(details.err.message).toBe("Out of range value for column 'calls' at row 1");
      expect(details.err).not.toHaveProperty('parameters');
      expect(details.err).not.toHaveProperty('query');
    });
  });

  describe('counters', () => {
    it('counts the rows written since start', async () => {
      const { store, aggregator, report } = setup();
      report(A);
      report(B);
      await aggregator.flush();
      report(A);
      await aggregator.flush();
      expect(store.written).toHaveLength(3);
      expect(aggregator.stats).toMatchObject({ flushedRows: 3, bufferedRows: 0 });
    });

    it("no longer counts a deleted project's pending rows, older minutes included, as buffered", () => {
      const { clock, aggregator, report } = setup();
      const gone = 'g'.repeat(32);
      report(A, gone);
      clock.advance(60_000);
      report(A, gone);
      report(B);
      expect(aggregator.stats.bufferedRows).toBe(3);
      aggregator.dropProject(gone);
      expect(aggregator.stats.bufferedRows).toBe(1);
    });
  });

  describe('writing', () => {
    it('does not touch the database when nothing was aggregated', async () => {
      const { store, aggregator } = setup();
      expect(await aggregator.flush()).toBe(0);
      expect(await aggregator.flush(true)).toBe(0);
      expect(store.upserts).toBe(0);
    });

    it('in the middle of a minute still writes the breaker state into the previous minute, not the one before', async () => {
      const { clock, store, aggregator, breakers } = setup();
      for (const minute of [0, 1, 2]) {
        aggregator.recordReport(
          P,
          A,
          MINUTE_AT_START + minute * 60_000,
          { outcome: 'SUCCESS', latencyMs: 10, receivedAt: clock.now() },
          0,
        );
      }
      clock.advance(150_000); // 12:02:30
      breakers.setOperatorState({ id: A, projectId: P }, 'FORCED_OPEN', clock.now());
      await aggregator.flush();
      const stateAt = (minute: number) => store.written.find((row) => row.minute === MINUTE_AT_START + minute * 60_000);
      expect(stateAt(0)?.breakerState).toBeNull();
      expect(stateAt(1)?.breakerState).toBe('FORCED_OPEN');
      expect(stateAt(2)?.breakerState).toBe('FORCED_OPEN');
    });
  });

  describe('logging failures and recovery', () => {
    it('logs the first failed write and every tenth after it, not each retry', async () => {
      const { store, aggregator, report } = setup();
      store.down = true;
      report();
      for (let attempt = 1; attempt <= 20; attempt++) await aggregator.flush(true);
      expect(logsAt('error').map(([details]) => (details as { attempt: number }).attempt)).toEqual([1, 10, 20]);
    });

    it('says why the write failed, when it retries and how many rows it holds, under the Metrics context', async () => {
      const { store, aggregator, report } = setup();
      store.down = true;
      report(A);
      report(B);
      await aggregator.flush();
      expect(logsAt('error')).toEqual([
        [
          { err: new Error('connect ECONNREFUSED 127.0.0.1:3306'), bufferedRows: 2, attempt: 1 },
          'Writing minute metrics failed; retrying in 1000 ms with 2 rows held',
          'Metrics',
        ],
      ]);
    });

    it('logs once that writing works again, with the number of failed attempts', async () => {
      const { store, aggregator, report } = setup();
      store.down = true;
      report();
      for (let attempt = 1; attempt <= 3; attempt++) await aggregator.flush(true);
      store.down = false;
      await aggregator.flush(true);
      report();
      await aggregator.flush(true);
      expect(logsAt('log')).toEqual([['Minute metrics written again after 3 failed attempts', 'Metrics']]);
    });

    it('logs nothing when every write succeeds', async () => {
      const { aggregator, report } = setup();
      report();
      await aggregator.flush();
      expect(logged).toEqual([]);
    });
  });

  describe('the bounded buffer', () => {
    const holdMinutes = async (count: number) => {
      const context = setup(1000);
      context.store.down = true;
      for (let minute = 0; minute < count; minute++) {
        context.report();
        context.clock.advance(60_000);
      }
      await context.aggregator.flush(true);
      return context;
    };

    it('keeps every held row while the buffer has room, and warns of nothing', async () => {
      const { aggregator } = await holdMinutes(600);
      expect(aggregator.stats).toMatchObject({ bufferedRows: 600, droppedRows: 0, droppedReports: 0 });
      expect(logsAt('warn')).toEqual([]);
    });

    it('drops nothing when the buffer is exactly full', async () => {
      const { aggregator } = await holdMinutes(1000);
      expect(aggregator.stats).toMatchObject({ bufferedRows: 1000, droppedRows: 0, droppedReports: 0 });
      expect(logsAt('warn')).toEqual([]);
    });
  });

  describe('shutdown', () => {
    it('the last shutdown hook writes both held and newly acknowledged rows, even inside a backoff', async () => {
      const { store, aggregator, report } = setup();
      store.down = true;
      report(A);
      await aggregator.flush(); // held, next attempt in 1 s
      report(B);
      store.down = false;
      await aggregator.onApplicationShutdown();
      expect(
        rows(store)
          .map((row) => row.instanceId)
          .sort(),
      ).toEqual([A, B]);
    });
  });

  describe('purging', () => {
    it('logs how many rows it purged', async () => {
      const { aggregator } = setup();
      await aggregator.purge();
      expect(logsAt('log')).toEqual([['Purged 7 minute rows older than 30 days', 'Metrics']]);
    });

    it('logs nothing when there was nothing to purge', async () => {
      const { store, aggregator } = setup();
      store.purgeable = 0;
      expect(await aggregator.purge()).toBe(0);
      expect(logged).toEqual([]);
    });
  });

  describe('timers', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('once the application is up, writes what was aggregated every flush interval (1 s by default)', async () => {
      const { store, aggregator, report } = setup();
      aggregator.onApplicationBootstrap();
      report();
      await jest.advanceTimersByTimeAsync(999);
      expect(store.total()).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.total()).toBe(1);
      report();
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.total()).toBe(2);
      await aggregator.beforeApplicationShutdown();
    });

    it('purges a minute after start and hourly after that, and logs a failed purge instead of letting it escape', async () => {
      const { store, aggregator } = setup();
      aggregator.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(59_999);
      expect(store.purgedBefore).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.purgedBefore).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(3_599_999);
      expect(store.purgedBefore).toHaveLength(1);
      store.purgeDown = true;
      await jest.advanceTimersByTimeAsync(3_600_000);
      expect(store.purgedBefore).toHaveLength(2);
      expect(logsAt('error')).toEqual([
        [{ err: new Error('purge refused') }, 'Purging minute metrics failed', 'Metrics'],
      ]);
      await aggregator.beforeApplicationShutdown();
    });

    it('stops writing and purging on its own once shutdown began', async () => {
      const { store, aggregator, report } = setup();
      aggregator.onApplicationBootstrap();
      await aggregator.beforeApplicationShutdown();
      report();
      await jest.advanceTimersByTimeAsync(3_600_000);
      expect(store.upserts).toBe(0);
      expect(store.purgedBefore).toEqual([]);
    });
  });
});

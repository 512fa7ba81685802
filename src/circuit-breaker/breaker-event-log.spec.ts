import { Logger } from '@nestjs/common';
import { BreakerEventLog, type BreakerEventLogOptions } from './breaker-event-log';
import type { BreakerEventRow, BreakerEventsService, InsertResult } from './breaker-events.service';
import { type BreakerTransition, BreakerTransitions } from './breaker-transition';

const PROJECT = 'a'.repeat(32);
const INSTANCE = 'b'.repeat(32);

/** An in-memory `breaker_events` table whose writes can be made to fail or to wait. */
class FakeStore implements Pick<BreakerEventsService, 'insert' | 'isOpen'> {
  readonly rows: BreakerEventRow[] = [];
  readonly batchSizes: number[] = [];
  failures = 0;
  inFlight = 0;
  maxInFlight = 0;
  private gate?: Promise<void>;
  private openGate?: () => void;

  /** Every insert waits until {@link release}. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async insert(rows: readonly BreakerEventRow[]): Promise<InsertResult> {
    this.batchSizes.push(rows.length);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      if (this.failures > 0) {
        this.failures -= 1;
        throw new Error('database unavailable');
      }
      this.rows.push(...rows);
      return { written: rows.length, discarded: 0 };
    } finally {
      this.inFlight -= 1;
    }
  }

  isOpen(): boolean {
    return true;
  }
}

describe('BreakerEventLog', () => {
  let transitions: BreakerTransitions;
  let store: FakeStore;
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;

  const create = (options: BreakerEventLogOptions = {}) => new BreakerEventLog(transitions, store, options);
  const transition = (n: number): BreakerTransition => ({
    projectId: PROJECT,
    instanceId: INSTANCE,
    from: 'CLOSED',
    to: 'OPEN',
    reason: `reason ${n}`,
    at: Date.UTC(2026, 0, 1) + n,
  });
  const emit = (from: number, to: number) => {
    for (let n = from; n < to; n += 1) transitions.emit(transition(n));
  };
  const reasons = () => store.rows.map((row) => row.reason);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `reason ${from + i}`);

  beforeEach(() => {
    transitions = new BreakerTransitions();
    store = new FakeStore();
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('queues transitions without writing, then writes them as rows on flush', async () => {
    const log = create();
    emit(0, 3);
    expect(store.batchSizes).toEqual([]);
    expect(log.queued).toBe(3);

    await expect(log.flush()).resolves.toBe(3);
    expect(log.queued).toBe(0);
    expect(store.rows[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      projectId: PROJECT,
      instanceId: INSTANCE,
      fromState: 'CLOSED',
      toState: 'OPEN',
      reason: 'reason 0',
      at: new Date(Date.UTC(2026, 0, 1)),
    });
    await expect(log.flush()).resolves.toBe(0);
  });

  it('writes in batches of at most 500 rows, in emission order', async () => {
    const log = create();
    emit(0, 1234);
    await expect(log.flush()).resolves.toBe(1234);
    expect(store.batchSizes).toEqual([500, 500, 234]);
    expect(reasons()).toEqual(range(0, 1234));
  });

  it('when full, drops the oldest, counts them and warns once per flush', async () => {
    const log = create({ capacity: 5 });
    emit(0, 8);
    expect(log.queued).toBe(5);
    expect(log.dropped).toBe(3);
    expect(warn).not.toHaveBeenCalled();

    await log.flush();
    expect(reasons()).toEqual(range(3, 8));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatchObject({ dropped: 3, capacity: 5 });

    emit(8, 10);
    await log.flush();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('puts a failed batch back at the head, logs one error, and writes it on the next flush', async () => {
    const log = create({ batchSize: 2 });
    emit(0, 5);
    store.failures = 3;

    await expect(log.flush()).resolves.toBe(0);
    await expect(log.flush()).resolves.toBe(0);
    expect(log.queued).toBe(5);
    expect(error).toHaveBeenCalledTimes(1);

    emit(5, 6);
    await expect(log.flush()).resolves.toBe(0);
    await expect(log.flush()).resolves.toBe(6);
    expect(reasons()).toEqual(range(0, 6));
    expect(error).toHaveBeenCalledTimes(1);
  });

  it('keeps the rest of the queue when a later batch fails', async () => {
    const log = create({ batchSize: 2 });
    emit(0, 5);
    const insert = store.insert.bind(store);
    let calls = 0;
    jest.spyOn(store, 'insert').mockImplementation((rows) => {
      calls += 1;
      return calls === 2 ? Promise.reject(new Error('lost connection')) : insert(rows);
    });

    await expect(log.flush()).resolves.toBe(2);
    expect(log.queued).toBe(3);
    await expect(log.flush()).resolves.toBe(3);
    expect(reasons()).toEqual(range(0, 5));
  });

  it('a batch put back into a full queue loses its oldest events, counted as dropped', async () => {
    const log = create({ capacity: 4 });
    emit(0, 3);
    store.hold();
    store.failures = 1;
    const failing = log.flush();
    emit(3, 6);
    store.release();
    await failing;

    expect(log.queued).toBe(4);
    expect(log.dropped).toBe(2);
    await log.flush();
    expect(reasons()).toEqual(range(2, 6));
  });

  it('serializes concurrent flushes: every event is written exactly once', async () => {
    const log = create({ batchSize: 10 });
    emit(0, 25);
    store.hold();
    const flushes = [log.flush(), log.flush()];
    await Promise.resolve();
    emit(25, 30);
    flushes.push(log.flush());
    store.release();

    const counts = await Promise.all(flushes);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);
    expect(store.maxInFlight).toBe(1);
    expect(reasons()).toEqual(range(0, 30));
    expect(new Set(store.rows.map((row) => row.id)).size).toBe(30);
  });

  it('cuts reasons to the 255 characters the column holds', async () => {
    const log = create();
    transitions.emit({ ...transition(0), reason: 'é'.repeat(300) });
    await log.flush();
    expect(store.rows[0]?.reason).toBe('é'.repeat(255));
  });

  it('flushes on a timer after bootstrap, and a final time on shutdown', async () => {
    jest.useFakeTimers();
    try {
      const log = create({ intervalMs: 1000 });
      log.onApplicationBootstrap();
      emit(0, 2);
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.rows).toHaveLength(2);

      emit(2, 3);
      await log.beforeApplicationShutdown();
      expect(store.rows).toHaveLength(3);
      emit(3, 4);
      await jest.advanceTimersByTimeAsync(5000);
      expect(store.rows).toHaveLength(3);
      await log.onApplicationShutdown();
      expect(reasons()).toEqual(range(0, 4));
    } finally {
      jest.useRealTimers();
    }
  });
});

import { Logger } from '@nestjs/common';
import { FakeClock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { BreakerEventLog, type BreakerEventLogOptions } from './breaker-event-log';
import type { BreakerEventRow, BreakerEventsService, InsertResult } from './breaker-events.service';
import { type BreakerTransition, BreakerTransitions } from './breaker-transition';
import { MemoryEventBus } from '../state/event-bus';

const PROJECT = 'a'.repeat(32);
const INSTANCE = 'b'.repeat(32);
const OTHER_PROJECT = 'c'.repeat(32);
const MINUTE = Date.UTC(2026, 0, 1, 12, 0);
const DAY_MS = 86_400_000;

/** An in-memory `breaker_events` table whose writes can be made to fail or to wait. */
class FakeStore implements Pick<BreakerEventsService, 'insert' | 'isOpen' | 'purgeBefore'> {
  readonly rows: BreakerEventRow[] = [];
  readonly purgedBefore: Date[] = [];
  /** What `purgeBefore` answers; it fails while `purgeDown` is set. */
  purgeable = 4;
  purgeDown = false;
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

  purgeBefore(before: Date): Promise<number> {
    this.purgedBefore.push(before);
    return this.purgeDown ? Promise.reject(new Error('purge refused')) : Promise.resolve(this.purgeable);
  }
}

describe('BreakerEventLog', () => {
  let transitions: BreakerTransitions;
  let events: MemoryEventBus;
  let store: FakeStore;
  let clock: FakeClock;
  /** Warnings other than the transition lines (those go to `transitionLines`). */
  let warn: jest.Mock;
  let transitionLines: [Record<string, unknown>, string][];
  let error: jest.SpyInstance;
  let info: jest.SpyInstance;

  const create = (options: BreakerEventLogOptions = {}, env: Record<string, string> = {}) =>
    new BreakerEventLog(
      transitions,
      store,
      clock,
      loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', ...env }),
      events,
      options,
    );
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
    events = new MemoryEventBus();
    store = new FakeStore();
    clock = new FakeClock(MINUTE);
    warn = jest.fn();
    transitionLines = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, ...args: unknown[]) {
      if ((this as unknown as { context?: string }).context === 'Breakers') {
        transitionLines.push(args as [Record<string, unknown>, string]);
      } else {
        warn(...args);
      }
    });
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    info = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
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
      actor: 'system',
      at: new Date(Date.UTC(2026, 0, 1)),
    });
    await expect(log.flush()).resolves.toBe(0);
  });

  it('writes in batches of at most 500 rows, in emission order', async () => {
    const log = create({}, { GATEWAY_BREAKER_EVENTS_PER_MINUTE: '2000' });
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

  describe('the warn line of each transition', () => {
    it('logs each kept transition at warn with business id, project, states, reason and actor — at the flush, not on the request path', async () => {
      const log = create();
      log.nameInstancesWith((id) => (id === INSTANCE ? 'gpt-4o-eu' : undefined));
      transitions.emit(transition(0));
      transitions.emit({
        ...transition(1),
        from: 'OPEN',
        to: 'FORCED_OPEN',
        reason: 'operator: FORCED_OPEN',
        actor: 'admin:alice',
      });
      transitions.emit({ ...transition(2), from: 'FORCED_OPEN', to: 'CLOSED', reason: 'operator: AUTO' });
      expect(transitionLines).toEqual([]);

      await log.flush();
      expect(transitionLines.map(([details]) => details)).toEqual([
        {
          instanceId: INSTANCE,
          businessId: 'gpt-4o-eu',
          projectId: PROJECT,
          from: 'CLOSED',
          to: 'OPEN',
          reason: 'reason 0',
          actor: 'system',
        },
        {
          instanceId: INSTANCE,
          businessId: 'gpt-4o-eu',
          projectId: PROJECT,
          from: 'OPEN',
          to: 'FORCED_OPEN',
          reason: 'operator: FORCED_OPEN',
          actor: 'admin:alice',
        },
        {
          instanceId: INSTANCE,
          businessId: 'gpt-4o-eu',
          projectId: PROJECT,
          from: 'FORCED_OPEN',
          to: 'CLOSED',
          reason: 'operator: AUTO',
          actor: 'operator',
        },
      ]);
      expect(transitionLines[1]?.[1]).toBe(
        `Breaker of gpt-4o-eu (instance ${INSTANCE}, project ${PROJECT}): OPEN → FORCED_OPEN, operator: FORCED_OPEN, by admin:alice`,
      );
      expect(store.rows.map((row) => row.actor)).toEqual(['system', 'admin:alice', 'operator']);
    });

    it("logs from the timer even while the database hangs, and neither logs nor writes another node's transitions", async () => {
      jest.useFakeTimers();
      try {
        const log = create();
        log.onApplicationBootstrap();
        store.hold();
        transitions.emit({ ...transition(0), remote: true });
        transitions.emit(transition(1));
        await jest.advanceTimersByTimeAsync(1000);
        expect(transitionLines.map(([details]) => details.reason)).toEqual(['reason 1']);
        expect(transitionLines[0]?.[0]).toMatchObject({ businessId: null });
        store.release();
        await log.beforeApplicationShutdown();
        expect(reasons()).toEqual(['reason 1']);
      } finally {
        jest.useRealTimers();
      }
    });

    it('leaves out the transitions over the per-project cap, as their rows', async () => {
      const log = create({}, { GATEWAY_BREAKER_EVENTS_PER_MINUTE: '2' });
      emit(0, 5);
      await log.flush();
      expect(transitionLines).toHaveLength(2);
    });
  });

  it('publishes write-behind.failed once when writes start failing, and write-behind.recovered when they work again', async () => {
    const published: unknown[] = [];
    events.subscribe('write-behind.failed', (event) => published.push(event));
    events.subscribe('write-behind.recovered', (event) => published.push(event));
    const log = create();
    emit(0, 2);
    store.failures = 3;
    for (let i = 0; i < 3; i++) await log.flush();
    expect(published).toEqual([
      { type: 'write-behind.failed', log: 'breaker-events', error: 'database unavailable', held: 2, at: MINUTE },
    ]);
    clock.advance(5000);
    await expect(log.flush()).resolves.toBe(2);
    expect(published[1]).toEqual({
      type: 'write-behind.recovered',
      log: 'breaker-events',
      failedAttempts: 3,
      at: MINUTE + 5000,
    });
    await log.flush();
    expect(published).toHaveLength(2);
  });

  describe('the per-project cap (GATEWAY_BREAKER_EVENTS_PER_MINUTE)', () => {
    const capped = () => create({}, { GATEWAY_BREAKER_EVENTS_PER_MINUTE: '3' });
    const emitFor = (projectId: string, count: number, extra: Partial<BreakerTransition> = {}) => {
      for (let n = 0; n < count; n += 1) transitions.emit({ ...transition(n), projectId, ...extra });
    };

    it('defaults to 600 transitions a project a minute', () => {
      const log = create();
      emitFor(PROJECT, 601);
      expect(log.queued).toBe(600);
      expect(log.suppressed.get(PROJECT)).toBe(1);
    });

    it("queues a project's first transitions of a minute up to the cap, and counts the rest per project", () => {
      const log = capped();
      emitFor(PROJECT, 5);
      emitFor(OTHER_PROJECT, 3);
      expect(log.queued).toBe(6);
      expect([...log.suppressed]).toEqual([[PROJECT, 2]]);
    });

    it("forgets a deleted project's allowance and count (its metric series goes with it)", () => {
      const log = capped();
      emitFor(PROJECT, 5);
      emitFor(OTHER_PROJECT, 4);
      events.publish({ type: 'project.deleted', projectId: PROJECT });
      expect([...log.suppressed]).toEqual([[OTHER_PROJECT, 1]]);
      emitFor(PROJECT, 3);
      expect(log.suppressed.has(PROJECT)).toBe(false);
    });

    it('gives each minute (server time) its own allowance, from its first millisecond', () => {
      const log = capped();
      clock.set(MINUTE + 59_999);
      emitFor(PROJECT, 4);
      expect(log.queued).toBe(3);
      clock.set(MINUTE + 60_000);
      emitFor(PROJECT, 4);
      expect(log.queued).toBe(6);
      expect(log.suppressed.get(PROJECT)).toBe(2);
      clock.set(MINUTE + 60_000 + 59_999);
      emitFor(PROJECT, 1);
      expect(log.queued).toBe(6);
      expect(log.suppressed.get(PROJECT)).toBe(3);
    });

    it("always writes an operator's transitions (a restart restores them), and does not count them", () => {
      const log = capped();
      emitFor(PROJECT, 5, { reason: 'operator: FORCED_OPEN', to: 'FORCED_OPEN' });
      expect(log.queued).toBe(5);
      emitFor(PROJECT, 3);
      expect(log.queued).toBe(8);
      expect(log.suppressed.size).toBe(0);
    });

    it('takes no allowance for transitions another node committed (that node writes them)', () => {
      const log = capped();
      emitFor(PROJECT, 5, { remote: true });
      emitFor(PROJECT, 3);
      expect(log.queued).toBe(3);
      expect(log.suppressed.size).toBe(0);
    });

    it('writes what it queued, and warns once per project and minute, at the flush, with the count so far', async () => {
      const log = capped();
      emitFor(PROJECT, 5);
      emitFor(OTHER_PROJECT, 4);
      expect(warn).not.toHaveBeenCalled(); // nothing is logged on the request path
      await expect(log.flush()).resolves.toBe(6);
      const warned = () => warn.mock.calls.map(([details]) => details as Record<string, unknown>);
      expect(warned()).toEqual([
        { projectId: PROJECT, limit: 3, suppressed: 2, minute: new Date(MINUTE).toISOString() },
        { projectId: OTHER_PROJECT, limit: 3, suppressed: 1, minute: new Date(MINUTE).toISOString() },
      ]);
      expect(warn.mock.calls[0]?.[1]).toBe(
        `Project ${PROJECT} reached 3 breaker events this minute: further transitions are counted, not written`,
      );
      emitFor(PROJECT, 10);
      await log.flush();
      expect(warn).toHaveBeenCalledTimes(2);
      clock.advance(60_000);
      emitFor(PROJECT, 4);
      await log.flush();
      expect(warned()[2]).toEqual({
        projectId: PROJECT,
        limit: 3,
        suppressed: 1,
        minute: new Date(MINUTE + 60_000).toISOString(),
      });
      expect(log.suppressed.get(PROJECT)).toBe(2 + 10 + 1);
    });

    it('warns from the timer even when every transition since the last flush was over the cap', async () => {
      jest.useFakeTimers();
      try {
        const log = capped();
        log.onApplicationBootstrap();
        emitFor(PROJECT, 3);
        await jest.advanceTimersByTimeAsync(1000);
        expect(store.rows).toHaveLength(3);
        emitFor(PROJECT, 2); // nothing queued: only counted
        expect(log.queued).toBe(0);
        expect(warn).not.toHaveBeenCalled();
        await jest.advanceTimersByTimeAsync(1000);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0]?.[0]).toMatchObject({ projectId: PROJECT, suppressed: 2 });
        await jest.advanceTimersByTimeAsync(5000);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(store.batchSizes).toEqual([3]);
        await log.beforeApplicationShutdown();
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('retention (GATEWAY_BREAKER_EVENTS_RETENTION_DAYS)', () => {
    it('purges events older than 30 days by default, counted from now, and logs how many went', async () => {
      const log = create();
      clock.advance(42_123);
      await expect(log.purge()).resolves.toBe(4);
      expect(store.purgedBefore).toEqual([new Date(MINUTE + 42_123 - 30 * DAY_MS)]);
      expect(info.mock.calls).toEqual([['Purged 4 breaker events older than 30 days']]);
    });

    it('takes the retention from the configuration, and logs nothing when nothing went', async () => {
      const log = create({}, { GATEWAY_BREAKER_EVENTS_RETENTION_DAYS: '7' });
      store.purgeable = 0;
      await expect(log.purge()).resolves.toBe(0);
      expect(store.purgedBefore).toEqual([new Date(MINUTE - 7 * DAY_MS)]);
      expect(info).not.toHaveBeenCalled();
    });

    it('purges a minute after bootstrap and hourly after that, logs a failed purge instead of letting it escape, and stops on shutdown', async () => {
      jest.useFakeTimers();
      try {
        const log = create();
        log.onApplicationBootstrap();
        await jest.advanceTimersByTimeAsync(59_999);
        expect(store.purgedBefore).toHaveLength(0);
        await jest.advanceTimersByTimeAsync(1);
        expect(store.purgedBefore).toHaveLength(1);
        await jest.advanceTimersByTimeAsync(3_599_999);
        expect(store.purgedBefore).toHaveLength(1);
        store.purgeDown = true;
        await jest.advanceTimersByTimeAsync(3_600_000);
        expect(store.purgedBefore).toHaveLength(2);
        expect(error.mock.calls).toEqual([[{ err: new Error('purge refused') }, 'Purging breaker events failed']]);
        await log.beforeApplicationShutdown();
        await jest.advanceTimersByTimeAsync(3_600_000);
        expect(store.purgedBefore).toHaveLength(2);
      } finally {
        jest.useRealTimers();
      }
    });
  });
});

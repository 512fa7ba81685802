import { PurgeSchedule } from './purge-schedule';

describe('PurgeSchedule', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('purges a minute after start, then hourly', async () => {
    const purge = jest.fn(() => Promise.resolve(0));
    const schedule = new PurgeSchedule(purge, () => undefined);
    schedule.start();
    await jest.advanceTimersByTimeAsync(59_999);
    expect(purge).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(purge).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(purge).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(purge).toHaveBeenCalledTimes(3);
    schedule.stop();
  });

  it('stops before the first run and between runs', async () => {
    const purge = jest.fn(() => Promise.resolve(0));
    const schedule = new PurgeSchedule(purge, () => undefined, { firstDelayMs: 10, intervalMs: 100 });
    schedule.start();
    schedule.stop();
    await jest.advanceTimersByTimeAsync(1000);
    expect(purge).not.toHaveBeenCalled();
    schedule.start();
    await jest.advanceTimersByTimeAsync(110);
    expect(purge).toHaveBeenCalledTimes(2);
    schedule.stop();
    await jest.advanceTimersByTimeAsync(1000);
    expect(purge).toHaveBeenCalledTimes(2);
  });

  it('hands a failed purge to onError and keeps the schedule', async () => {
    const failure = new Error('database away');
    const purge = jest.fn(() => Promise.reject(failure));
    const errors: unknown[] = [];
    const schedule = new PurgeSchedule(purge, (error) => errors.push(error), { firstDelayMs: 10, intervalMs: 100 });
    schedule.start();
    await jest.advanceTimersByTimeAsync(110);
    expect(errors).toEqual([failure, failure]);
    schedule.stop();
  });

  it('does not keep the process alive', () => {
    const schedule = new PurgeSchedule(
      () => Promise.resolve(0),
      () => undefined,
    );
    const spy = jest.spyOn(global, 'setTimeout');
    schedule.start();
    const timer = spy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    schedule.stop();
    spy.mockRestore();
  });
});

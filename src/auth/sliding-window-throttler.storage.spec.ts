import { FakeClock } from '../common/clock';
import { SlidingWindowThrottlerStorage } from './sliding-window-throttler.storage';

describe('SlidingWindowThrottlerStorage', () => {
  const hit = (storage: SlidingWindowThrottlerStorage, key = 'k') => storage.increment(key, 60_000, 10, 0, 'default');

  it('admits exactly the limit within one window, then blocks', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const storage = new SlidingWindowThrottlerStorage(clock);
    const results = [];
    for (let i = 0; i < 12; i += 1) results.push(await hit(storage));
    expect(results.filter((r) => !r.isBlocked)).toHaveLength(10);
    expect(results[10]).toMatchObject({ isBlocked: true, timeToBlockExpire: 60 });
  });

  it('weights the previous window by its overlap (no burst of 2× at the boundary)', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const storage = new SlidingWindowThrottlerStorage(clock);
    for (let i = 0; i < 10; i += 1) await hit(storage);
    clock.advance(60_000 + 15_000); // a quarter into the next window: 75 % of the last 10 still count
    const admitted = [];
    for (let i = 0; i < 10; i += 1) admitted.push(!(await hit(storage)).isBlocked);
    expect(admitted.filter(Boolean)).toHaveLength(3);
  });

  it('forgets everything after two idle windows and keeps keys apart', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const storage = new SlidingWindowThrottlerStorage(clock);
    for (let i = 0; i < 10; i += 1) await hit(storage, 'a');
    expect((await hit(storage, 'b')).isBlocked).toBe(false);
    expect((await hit(storage, 'a')).isBlocked).toBe(true);
    clock.advance(120_000);
    expect((await hit(storage, 'a')).isBlocked).toBe(false);
  });
});

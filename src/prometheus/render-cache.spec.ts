import { FakeClock } from '../common/clock';
import { METRICS_RENDER_TTL_MS, RenderCache } from './render-cache';

describe('RenderCache', () => {
  let clock: FakeClock;
  let renders: number;
  let cache: RenderCache;
  beforeEach(() => {
    clock = new FakeClock();
    renders = 0;
    cache = new RenderCache(clock, () => Promise.resolve(`render ${++renders}`));
  });

  it('serves one rendering for a second, then renders again', async () => {
    expect(await cache.get()).toBe('render 1');
    clock.advance(METRICS_RENDER_TTL_MS - 1);
    expect(await cache.get()).toBe('render 1');
    clock.advance(1);
    expect(await cache.get()).toBe('render 2');
  });

  it('concurrent callers share one render', async () => {
    expect(await Promise.all([cache.get(), cache.get(), cache.get()])).toEqual(['render 1', 'render 1', 'render 1']);
    expect(renders).toBe(1);
  });

  it('does not keep a failed render', async () => {
    let fail = true;
    const flaky = new RenderCache(clock, () => (fail ? Promise.reject(new Error('boom')) : Promise.resolve('ok')));
    await expect(flaky.get()).rejects.toThrow('boom');
    fail = false;
    expect(await flaky.get()).toBe('ok');
  });
});

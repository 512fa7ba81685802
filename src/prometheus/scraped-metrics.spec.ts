import { Histogram, Registry } from 'prom-client';
import { HistogramFamily } from './scraped-metrics';

describe('HistogramFamily', () => {
  const definition = { name: 'x_seconds', help: 'A duration', labelNames: ['method', 'route'] as const };
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 1, 10];
  // On a bound, between bounds, below the first, above the last, zero, and fractions that do not add up exactly.
  const values = [0.0005, 0.0007, 0.0001, 12, 0, 0.1, 0.2, 0.3, 10, 0.0025, 1e-9];

  it('renders exactly what prom-client renders for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const family = new HistogramFamily(ours, { ...definition, labelNames: [...definition.labelNames], buckets });
    const reference = new Histogram({
      ...definition,
      labelNames: [...definition.labelNames],
      buckets,
      registers: [theirs],
    });
    const a = family.add({ method: 'GET', route: '/a' });
    const b = family.add({ method: 'POST', route: '/b' });
    reference.zero({ method: 'GET', route: '/a' });
    reference.zero({ method: 'POST', route: '/b' });
    values.forEach((value, i) => {
      (i % 3 === 0 ? b : a).observe(value);
      reference.observe(i % 3 === 0 ? { method: 'POST', route: '/b' } : { method: 'GET', route: '/a' }, value);
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('exposes a series added and never observed at 0 in every bucket', async () => {
    const registry = new Registry();
    new HistogramFamily(registry, { ...definition, labelNames: [...definition.labelNames], buckets }).add({
      method: 'GET',
      route: '/a',
    });
    const text = await registry.metrics();
    expect(text).toContain('x_seconds_bucket{le="+Inf",method="GET",route="/a"} 0');
    expect(text).toContain('x_seconds_count{method="GET",route="/a"} 0');
  });
});

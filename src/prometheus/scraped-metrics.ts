import { Counter, Histogram, type Registry } from 'prom-client';
import { bucketIndex } from '../minute-metrics/histogram';

/**
 * Prometheus metrics whose values live in plain cells that the request path updates, copied into
 * the text format when scraped. prom-client builds a label-hash string on every `inc()` and
 * `observe()`, even through a cached child; a cell costs a field update (and, for a histogram, a
 * binary search over its bounds).
 */

/** One sample line as prom-client's Registry renders it (`metricName` defaults to the family's name). */
export interface ScrapedSample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * What the Registry reads from a metric's `get()`. prom-client's typings declare `type` as a
 * numeric enum that the package does not export at run time (it reads the string), hence the one
 * cast in {@link answer}.
 */
function answer<T>(name: string, help: string, type: 'counter' | 'histogram', values: ScrapedSample[]): Promise<T> {
  const family = { name, help, type, values, aggregator: 'sum' };
  return Promise.resolve(family as unknown as T);
}

/**
 * A prom-client Counter whose values are produced whole when scraped (the Registry reads a
 * metric through `get()`): building the samples from the cells directly avoids prom-client
 * hashing every label set again on each scrape. Registered like any metric, so its name is
 * reserved in the registry and it shows in `getMetricsAsArray()` with its label names.
 */
export class ScrapedCounter extends Counter<string> {
  constructor(
    private readonly definition: { name: string; help: string; labelNames: string[] },
    private readonly values: () => ScrapedSample[],
  ) {
    super({ ...definition, registers: [] });
  }

  override get(): ReturnType<Counter<string>['get']> {
    // The name prom-client holds (an OpenMetrics registry strips `_total` from it and adds it back).
    const { name } = this as unknown as { name: string };
    return answer(name, this.definition.help, 'counter', this.values());
  }
}

/** A prom-client Histogram whose buckets, sum and count are produced whole when scraped. */
export class ScrapedHistogram extends Histogram<string> {
  constructor(
    private readonly definition: { name: string; help: string; labelNames: string[]; buckets: number[] },
    private readonly values: () => ScrapedSample[],
  ) {
    super({ ...definition, registers: [] });
  }

  override get(): ReturnType<Histogram<string>['get']> {
    return this.getForPromString();
  }

  /** What the Registry renders a histogram from (prom-client prefers it to `get()`). */
  getForPromString(): ReturnType<Histogram<string>['get']> {
    return answer(this.definition.name, this.definition.help, 'histogram', this.values());
  }
}

/**
 * One histogram series as plain numbers: the count per bucket (not cumulative; the last holds
 * what lies above every bound) and the sum. A value goes to the first bound ≥ it, as Prometheus'
 * `le` buckets read.
 */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.counts[bucketIndex(this.bounds, value)]++;
    this.sum += value;
  }
}

/**
 * A histogram family of {@link HistogramCell}s, one per label set added, rendered as prom-client
 * renders a Histogram with the same name, labels and buckets (`le` first, as prom-client writes it; cumulative counts,
 * `_sum` and `_count`).
 *
 * @example
 * const family = new HistogramFamily(registry, { name: 'x_ms', help: '…', labelNames: ['outcome'], buckets: [5, 10] });
 * const cell = family.add({ outcome: 'SUCCESS' });
 * cell.observe(7);
 */
export class HistogramFamily<L extends string> {
  private readonly series: { readonly labels: Readonly<Record<L, string>>; readonly cell: HistogramCell }[] = [];
  private readonly le: readonly string[];

  constructor(
    registry: Registry,
    private readonly definition: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] },
  ) {
    this.le = [...definition.buckets.map(String), '+Inf'];
    registry.registerMetric(
      new ScrapedHistogram(
        { ...definition, labelNames: [...definition.labelNames], buckets: [...definition.buckets] },
        () => this.samples(),
      ),
    );
  }

  get size(): number {
    return this.series.length;
  }

  /** A new series, exposed at 0 until observed. */
  add(labels: Readonly<Record<L, string>>): HistogramCell {
    const cell = new HistogramCell(this.definition.buckets);
    this.series.push({ labels, cell });
    return cell;
  }

  private samples(): ScrapedSample[] {
    const values: ScrapedSample[] = [];
    for (const { labels, cell } of this.series) {
      pushHistogramSamples(values, this.definition.name, labels, this.le, cell.counts, cell.sum);
    }
    return values;
  }
}

/**
 * One histogram series' samples as prom-client renders them: a cumulative `_bucket` per `le`
 * (that label first, as prom-client writes it), then `_sum` and `_count`. `counts` are per bucket, not cumulative.
 */
export function pushHistogramSamples(
  values: ScrapedSample[],
  name: string,
  labels: Readonly<Record<string, string>>,
  le: readonly string[],
  counts: ArrayLike<number>,
  sum: number,
): void {
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i];
    values.push({ metricName: `${name}_bucket`, labels: { le: le[i], ...labels }, value: cumulative });
  }
  values.push({ metricName: `${name}_sum`, labels, value: sum });
  values.push({ metricName: `${name}_count`, labels, value: cumulative });
}

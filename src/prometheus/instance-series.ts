import type { Registry } from 'prom-client';
import { OUTCOME_CLASSES } from '../common/outcome';
import { HISTOGRAM_BUCKETS, LATENCY_BOUNDS_MS, bucketOf } from '../minute-metrics/histogram';
import { ScrapedCounter, ScrapedHistogram, type ScrapedSample, pushHistogramSamples } from './scraped-metrics';

export const INSTANCE_CALLS_METRIC = 'gateway_instance_calls_total';
export const INSTANCE_LATENCY_METRIC = 'gateway_instance_latency_ms';

/** The `le` label of each bucket, cumulative as Prometheus reads them; the last is `+Inf`. */
const LE_VALUES: readonly string[] = [...LATENCY_BOUNDS_MS.map(String), '+Inf'];

/** One instance's reports since start (or since its series were forgotten), as plain numbers. */
export interface InstanceCells {
  /** Calls by outcome class, in {@link OUTCOME_CLASSES} order. */
  readonly calls: Float64Array;
  /** Latency counts per bucket of {@link LATENCY_BOUNDS_MS} (not cumulative); the last is the overflow bucket. */
  readonly buckets: Float64Array;
  /** Sum of the latencies counted, ms. */
  sum: number;
}

/** Instances whose series are forgotten: those the registry no longer holds. */
export type InstanceLiveness = (instanceId: string) => boolean;

/**
 * Per-instance calls by outcome and latency, kept as typed-array cells in one Map keyed by the
 * instance id, and copied into the Prometheus text when scraped. A report costs a Map lookup,
 * a binary search over 22 bounds and three increments: no allocation once the instance has its
 * cells (the first report of an instance allocates them).
 *
 * Series of instances the registry no longer holds are forgotten at every scrape, and also when
 * the table has doubled since the last sweep (so a node nobody scrapes does not grow with
 * deleted instances).
 *
 * @example
 * const table = new InstanceSeriesTable(registry);
 * table.isLive = (id) => index.get(id) !== undefined;
 * table.record(instance.id, OUTCOME_INDEX.get('SUCCESS')!, 182);
 */
export class InstanceSeriesTable {
  private readonly cells = new Map<string, InstanceCells>();
  private sweptAtSize = 0;
  /** Set by whoever knows the registry; without it nothing is forgotten. */
  isLive: InstanceLiveness | undefined;

  constructor(registry: Registry) {
    registry.registerMetric(
      new ScrapedCounter(
        {
          name: INSTANCE_CALLS_METRIC,
          help: 'Reported calls per instance by outcome class (every outcome exposed from 0)',
          labelNames: ['instance_id', 'outcome'],
        },
        () => this.callValues(),
      ),
    );
    registry.registerMetric(
      new ScrapedHistogram(
        {
          name: INSTANCE_LATENCY_METRIC,
          help: 'Reported call latency per instance, in milliseconds (the minute metrics buckets)',
          labelNames: ['instance_id'],
          buckets: [...LATENCY_BOUNDS_MS],
        },
        () => this.latencyValues(),
      ),
    );
  }

  /** Instances with series. */
  get size(): number {
    return this.cells.size;
  }

  /** One report of `instanceId`: `outcome` is an index into {@link OUTCOME_CLASSES}. */
  record(instanceId: string, outcome: number, latencyMs: number): void {
    const cells = this.cells.get(instanceId) ?? this.add(instanceId);
    cells.calls[outcome]++;
    cells.buckets[bucketOf(latencyMs)]++;
    cells.sum += latencyMs;
  }

  /** The instance's cells, if it has series (for tests and the scrape). */
  get(instanceId: string): Readonly<InstanceCells> | undefined {
    return this.cells.get(instanceId);
  }

  /** Forgets the series of every instance that {@link isLive} says is gone. */
  sweep(): void {
    const isLive = this.isLive;
    if (isLive !== undefined) {
      for (const id of this.cells.keys()) if (!isLive(id)) this.cells.delete(id);
    }
    this.sweptAtSize = this.cells.size;
  }

  private add(instanceId: string): InstanceCells {
    if (this.cells.size >= 2 * this.sweptAtSize + 64) this.sweep();
    const cells: InstanceCells = {
      calls: new Float64Array(OUTCOME_CLASSES.length),
      buckets: new Float64Array(HISTOGRAM_BUCKETS),
      sum: 0,
    };
    this.cells.set(instanceId, cells);
    return cells;
  }

  private callValues(): ScrapedSample[] {
    this.sweep();
    const values: ScrapedSample[] = [];
    for (const [id, { calls }] of this.cells) {
      for (let i = 0; i < OUTCOME_CLASSES.length; i++) {
        values.push({ labels: { instance_id: id, outcome: OUTCOME_CLASSES[i] }, value: calls[i] });
      }
    }
    return values;
  }

  private latencyValues(): ScrapedSample[] {
    this.sweep();
    const values: ScrapedSample[] = [];
    for (const [id, { buckets, sum }] of this.cells) {
      pushHistogramSamples(values, INSTANCE_LATENCY_METRIC, { instance_id: id }, LE_VALUES, buckets, sum);
    }
    return values;
  }
}

/** Index of each outcome class in {@link InstanceCells.calls}. */
export const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(OUTCOME_CLASSES.map((outcome, i) => [outcome, i]));

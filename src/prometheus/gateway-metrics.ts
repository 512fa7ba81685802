import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { LATENCY_BOUNDS_MS } from '../minute-metrics/histogram';
import { OUTCOME_CLASSES } from '../common/outcome';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { InstanceSeriesTable, OUTCOME_INDEX } from './instance-series';
import { type HistogramCell, HistogramFamily } from './scraped-metrics';

/** Labelled series kept per metric family; beyond it new label sets fold into one `overflow` series. */
export const MAX_SERIES_PER_FAMILY = 2000;

/** The label value every label of the overflow series carries. */
export const OVERFLOW_LABEL = 'overflow';

/** The `route` label of requests that matched no route (404, 405). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds. Sub-millisecond buckets: the hot path's p99 target is 5 ms. */
const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One counter series as a plain number: the request path adds to it, a scrape reads it. */
interface CounterCell {
  value: number;
}

interface ReportSeries {
  readonly count: CounterCell;
  readonly latency: HistogramCell;
  /** The outcome's index in the per-instance cells; -1 for a label set outside the outcome classes. */
  readonly outcome: number;
}

/** Per (method, route): the duration series, and the count series by status code. */
interface RouteSeries {
  readonly duration: HistogramCell;
  readonly byStatus: Map<number, CounterCell>;
}

/**
 * Counter series kept as plain numbers and copied into a prom-client Counter when scraped:
 * prom-client rebuilds a label-hash string on every `inc()`, even through a cached child
 * (0.1–0.25 µs measured), where a cell costs a field update.
 */
class CounterFamily<L extends string> {
  private readonly series: { readonly labels: Record<L, string>; readonly cell: CounterCell }[] = [];

  constructor(registry: Registry, definition: { name: string; help: string; labelNames: readonly L[] }) {
    const series = this.series;
    new Counter<L>({
      ...definition,
      registers: [registry],
      collect() {
        this.reset();
        for (const one of series) this.inc(one.labels, one.cell.value);
      },
    });
  }

  get size(): number {
    return this.series.length;
  }

  /** A new series, exposed at 0 until counted. */
  add(labels: Record<L, string>): CounterCell {
    const cell = { value: 0 };
    this.series.push({ labels, cell });
    return cell;
  }
}

/** Report fields kept only as a bounded prefix when longer (raw provider error bodies). */
export type TruncatedReportField = 'errorMessage' | 'errorType';

/** One select-instance answer as Prometheus counts it. */
export interface SelectionAnswer {
  readonly strategy: string;
  /** `selected`, `least_bad` or the error code. */
  readonly result: string;
  readonly fallbackUsed: boolean;
  readonly degraded: boolean;
}

/**
 * The gateway's Prometheus metrics that the request path updates, in a registry of its own (not
 * prom-client's global one, so several apps in one test process never collide). A call on the hot
 * path looks its series up in nested Maps keyed by the label values (building no key string) and
 * adds to a plain-number counter cell and/or a histogram cell (scraped-metrics.ts). Label
 * values must come from bounded sets (registered strategy names, error codes, outcome classes,
 * route patterns); as a safety net, a family that reaches {@link MAX_SERIES_PER_FAMILY} series
 * counts any further label set in one `overflow` series. Per-instance calls and latency are the
 * exception (one series set per registered instance, {@link InstanceSeriesTable}), switched off
 * with `GATEWAY_METRICS_PER_INSTANCE=false`.
 *
 * @example
 * metrics.selection({ strategy: 'smart', result: 'selected', fallbackUsed: false, degraded: false });
 * metrics.report('SERVER_ERROR', 812, instance.id);
 * metrics.http('GET', '/api/instances/:id/health', 200, 0.0007);
 * const text = await metrics.metrics(); // Prometheus text format
 */
@Injectable()
export class GatewayMetrics {
  private readonly logger = new Logger(GatewayMetrics.name);
  private readonly prometheus = new Registry();
  private readonly overflowed = new Set<string>();

  private readonly selectionsTotal = new CounterFamily(this.prometheus, {
    name: 'gateway_selections_total',
    help: 'select-instance decisions by strategy and result (selected, least_bad or an error code)',
    labelNames: ['strategy', 'result', 'fallback', 'degraded'],
  });
  private readonly reportsTotal = new CounterFamily(this.prometheus, {
    name: 'gateway_reports_total',
    help: 'Reported call outcomes by outcome class',
    labelNames: ['outcome'],
  });
  private readonly reportedLatency = new HistogramFamily(this.prometheus, {
    name: 'gateway_reported_latency_ms',
    help: 'Backend call latency reported by callers, in milliseconds, by outcome class',
    labelNames: ['outcome'],
    buckets: LATENCY_BOUNDS_MS,
  });
  private readonly truncatedTotal = new CounterFamily(this.prometheus, {
    name: 'gateway_report_fields_truncated_total',
    help: 'Reports whose errorMessage or errorType was longer than the prefix kept (accepted, classified on the prefix)',
    labelNames: ['field'],
  });
  private readonly truncatedCells: Readonly<Record<TruncatedReportField, CounterCell>> = {
    errorMessage: this.truncatedTotal.add({ field: 'errorMessage' }),
    errorType: this.truncatedTotal.add({ field: 'errorType' }),
  };
  private readonly duplicateTotal = new CounterFamily(this.prometheus, {
    name: 'gateway_reports_duplicate_total',
    help: 'Reports of a selection already reported on this node: acknowledged, not counted',
    labelNames: [],
  });
  private readonly duplicateCell: CounterCell = this.duplicateTotal.add({});
  private readonly httpTotal = new CounterFamily(this.prometheus, {
    name: 'gateway_http_requests_total',
    help: "Requests served by the gateway's own HTTP API, by method, route pattern and status",
    labelNames: ['method', 'route', 'status'],
  });
  private readonly httpDuration = new HistogramFamily(this.prometheus, {
    name: 'gateway_http_request_duration_seconds',
    help: "Time the gateway's own HTTP API took to answer, by method and route pattern",
    labelNames: ['method', 'route'],
    buckets: HTTP_DURATION_BUCKETS,
  });

  // Nested Maps rather than one concatenated key: strategy names, error codes, route patterns and
  // methods are long-lived strings whose hashes V8 caches, so a lookup allocates nothing.
  /** strategy → result → cells by `fallbackUsed * 2 + degraded`. */
  private readonly selections = new Map<string, Map<string, (CounterCell | undefined)[]>>();
  private readonly reports = new Map<string, ReportSeries>();
  /** route → method → series. */
  private readonly routes = new Map<string, Map<string, RouteSeries>>();
  private routeCount = 0;
  /** The one series per family that label sets beyond the limit share. */
  private readonly overflow: {
    selection?: CounterCell;
    report?: ReportSeries;
    route?: RouteSeries;
    status?: CounterCell;
  } = {};

  /** Per-instance calls and latency; undefined when `GATEWAY_METRICS_PER_INSTANCE=false`. */
  readonly instances: InstanceSeriesTable | undefined;

  /** Without a config (unit tests), per-instance series are on, as by default. */
  constructor(@Optional() @Inject(APP_CONFIG) config?: AppConfig) {
    collectDefaultMetrics({ register: this.prometheus, prefix: 'gateway_' });
    this.instances = (config?.metrics.perInstance ?? true) ? new InstanceSeriesTable(this.prometheus) : undefined;
    // Known outcomes are exposed at 0 from the start, so rate() sees their first increment.
    for (const outcome of OUTCOME_CLASSES) this.reportSeries(outcome);
  }

  /** The registry every gateway metric lives in (gauges register here too). */
  get registry(): Registry {
    return this.prometheus;
  }

  /** Everything, in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.prometheus.metrics();
  }

  /** One select-instance answer: `result` is `selected`, `least_bad` or the error code. */
  selection(answer: SelectionAnswer): void {
    const { strategy, result, fallbackUsed, degraded } = answer;
    const flags = (fallbackUsed ? 2 : 0) + (degraded ? 1 : 0);
    const cell = this.selections.get(strategy)?.get(result)?.[flags];
    (cell ?? this.selectionSeries(strategy, result, fallbackUsed, degraded)).value++;
  }

  /**
   * One report, by its outcome class, and by its instance when per-instance series are on. Pass
   * the registry record's `id` (a long-lived string) rather than the request body's copy.
   */
  report(outcome: string, latencyMs: number, instanceId?: string): void {
    const series = this.reports.get(outcome) ?? this.reportSeries(outcome);
    series.count.value++;
    series.latency.observe(latencyMs);
    if (instanceId !== undefined && series.outcome >= 0) this.instances?.record(instanceId, series.outcome, latencyMs);
  }

  /** One report of a selection already reported: acknowledged, not counted. */
  duplicateReport(): void {
    this.duplicateCell.value++;
  }

  /** One report whose `field` was cut to its bounded prefix. */
  truncated(field: TruncatedReportField): void {
    this.truncatedCells[field].value++;
  }

  /** One answered request; `route` is the route pattern or {@link UNMATCHED_ROUTE}, never a raw URL. */
  http(method: string, route: string, statusCode: number, durationSeconds: number): void {
    const series = this.routes.get(route)?.get(method) ?? this.routeSeries(method, route);
    (series.byStatus.get(statusCode) ?? this.statusSeries(series, method, route, statusCode)).value++;
    series.duration.observe(durationSeconds);
  }

  private selectionSeries(strategy: string, result: string, fallbackUsed: boolean, degraded: boolean): CounterCell {
    if (this.full('gateway_selections_total', this.selectionsTotal.size)) {
      const overflow = {
        strategy: OVERFLOW_LABEL,
        result: OVERFLOW_LABEL,
        fallback: OVERFLOW_LABEL,
        degraded: OVERFLOW_LABEL,
      };
      return (this.overflow.selection ??= this.selectionsTotal.add(overflow));
    }
    const cell = this.selectionsTotal.add({
      strategy,
      result,
      fallback: String(fallbackUsed),
      degraded: String(degraded),
    });
    const byResult = getOrSet(this.selections, strategy, () => new Map<string, (CounterCell | undefined)[]>());
    getOrSet(byResult, result, () => [])[(fallbackUsed ? 2 : 0) + (degraded ? 1 : 0)] = cell;
    return cell;
  }

  private reportSeries(outcome: string): ReportSeries {
    if (this.full('gateway_reports_total', this.reports.size)) {
      return (this.overflow.report ??= {
        count: this.reportsTotal.add({ outcome: OVERFLOW_LABEL }),
        latency: this.reportedLatency.add({ outcome: OVERFLOW_LABEL }),
        outcome: -1,
      });
    }
    const series = {
      count: this.reportsTotal.add({ outcome }),
      latency: this.reportedLatency.add({ outcome }),
      outcome: OUTCOME_INDEX.get(outcome) ?? -1,
    };
    this.reports.set(outcome, series);
    return series;
  }

  private routeSeries(method: string, route: string): RouteSeries {
    if (this.full('gateway_http_request_duration_seconds', this.routeCount)) {
      return (this.overflow.route ??= {
        duration: this.httpDuration.add({ method: OVERFLOW_LABEL, route: OVERFLOW_LABEL }),
        byStatus: new Map(),
      });
    }
    const series = { duration: this.httpDuration.add({ method, route }), byStatus: new Map<number, CounterCell>() };
    getOrSet(this.routes, route, () => new Map<string, RouteSeries>()).set(method, series);
    this.routeCount++;
    return series;
  }

  private statusSeries(series: RouteSeries, method: string, route: string, statusCode: number): CounterCell {
    if (series === this.overflow.route || this.full('gateway_http_requests_total', this.httpTotal.size)) {
      const overflow = { method: OVERFLOW_LABEL, route: OVERFLOW_LABEL, status: OVERFLOW_LABEL };
      return (this.overflow.status ??= this.httpTotal.add(overflow));
    }
    const cell = this.httpTotal.add({ method, route, status: String(statusCode) });
    series.byStatus.set(statusCode, cell);
    return cell;
  }

  /** Whether a family is at its series limit; says so once, not per call. */
  private full(family: string, size: number): boolean {
    if (size < MAX_SERIES_PER_FAMILY) return false;
    if (!this.overflowed.has(family)) {
      this.overflowed.add(family);
      this.logger.warn(
        `${family} reached ${MAX_SERIES_PER_FAMILY} series: further label sets are counted as "${OVERFLOW_LABEL}"`,
      );
    }
    return true;
  }
}

function getOrSet<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  ADDITIVE_COLUMNS,
  LATENCY_BUCKET_COLUMNS,
  MAX_COLUMNS,
  OUTCOME_COLUMNS,
  TTFT_BUCKET_COLUMNS,
} from '../minute-metrics/entities/instance-metrics-minute.schema';
import type { OutcomeClass } from '../common/outcome';

/** Which rows of `instance_metrics_minute` a query covers: [from, to) by minute start. */
export interface MinuteFilter {
  readonly from: number;
  readonly to: number;
  readonly projectId?: string;
  readonly instanceId?: string;
}

/** Summed minute rows. */
export interface MinuteTotals {
  readonly selections: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly byOutcome: Readonly<Record<Exclude<OutcomeClass, 'SUCCESS'>, number>>;
  readonly latencySumMs: number;
  readonly latencyMaxMs: number;
  readonly latencyBuckets: readonly number[];
  readonly ttftCount: number;
  readonly ttftSumMs: number;
  readonly ttftBuckets: readonly number[];
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly cost: number;
  readonly maxOpenLeases: number;
  /** Epoch ms of the newest report, or null. */
  readonly lastReportAt: number | null;
}

const SELECT_AGGREGATES = [
  ...ADDITIVE_COLUMNS.map((c) => `SUM(${c}) AS ${c}`),
  ...MAX_COLUMNS.map((c) => `MAX(${c}) AS ${c}`),
].join(', ');

type Row = Record<string, string | number | null>;

/**
 * Aggregations over `instance_metrics_minute` for monitoring: totals, per instance, per time
 * bucket. Plain SQL that both dialects run (bucketing by `minute_ts - minute_ts % size`).
 * Admin and monitoring reads only — never on the select/report path.
 */
@Injectable()
export class MinuteQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async totals(filter: MinuteFilter): Promise<MinuteTotals> {
    const { where, params } = whereOf(filter);
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${SELECT_AGGREGATES} FROM instance_metrics_minute WHERE ${where}`,
      params,
    );
    return toTotals(rows[0] ?? {});
  }

  async byInstance(filter: MinuteFilter): Promise<Map<string, MinuteTotals>> {
    const { where, params } = whereOf(filter);
    const rows: Row[] = await this.dataSource.query(
      `SELECT instance_id, ${SELECT_AGGREGATES} FROM instance_metrics_minute WHERE ${where} GROUP BY instance_id`,
      params,
    );
    return new Map(rows.map((row) => [String(row.instance_id), toTotals(row)]));
  }

  /** Totals per instance and bucket of `bucketMs`: instance id → bucket start (epoch ms) → totals. */
  async seriesByInstance(
    filter: MinuteFilter & { readonly instanceIds: readonly string[] },
    bucketMs: number,
  ): Promise<Map<string, Map<number, MinuteTotals>>> {
    const result = new Map<string, Map<number, MinuteTotals>>(filter.instanceIds.map((id) => [id, new Map()]));
    if (filter.instanceIds.length === 0) return result;
    const { where, params } = whereOf(filter);
    const bucket = `(minute_ts - (minute_ts % ${Math.floor(bucketMs)}))`;
    const rows: Row[] = await this.dataSource.query(
      `SELECT instance_id, ${bucket} AS bucket_ts, ${SELECT_AGGREGATES} FROM instance_metrics_minute ` +
        `WHERE ${where} AND instance_id IN (${filter.instanceIds.map(() => '?').join(',')}) ` +
        `GROUP BY instance_id, ${bucket}`,
      [...params, ...filter.instanceIds],
    );
    for (const row of rows) result.get(String(row.instance_id))?.set(Number(row.bucket_ts), toTotals(row));
    return result;
  }

  /** Every project's id and name (the fleet view lists projects without instances too). */
  async projects(): Promise<{ id: string; name: string }[]> {
    const rows: { id: string; name: string }[] = await this.dataSource.query('SELECT id, name FROM projects');
    return rows.map((row) => ({ id: String(row.id), name: String(row.name) }));
  }

  /** Totals per bucket of `bucketMs`, keyed by the bucket's start (epoch ms). */
  async series(filter: MinuteFilter, bucketMs: number): Promise<Map<number, MinuteTotals>> {
    const { where, params } = whereOf(filter);
    const bucket = `(minute_ts - (minute_ts % ${Math.floor(bucketMs)}))`;
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${bucket} AS bucket_ts, ${SELECT_AGGREGATES} FROM instance_metrics_minute WHERE ${where} GROUP BY ${bucket}`,
      params,
    );
    return new Map(rows.map((row) => [Number(row.bucket_ts), toTotals(row)]));
  }
}

function whereOf(filter: MinuteFilter): { where: string; params: unknown[] } {
  const clauses = ['minute_ts >= ?', 'minute_ts < ?'];
  const params: unknown[] = [filter.from, filter.to];
  if (filter.projectId !== undefined) {
    clauses.push('project_id = ?');
    params.push(filter.projectId);
  }
  if (filter.instanceId !== undefined) {
    clauses.push('instance_id = ?');
    params.push(filter.instanceId);
  }
  return { where: clauses.join(' AND '), params };
}

/** Numbers from either driver (mysql2 answers SUM of integers as decimal strings). */
function num(value: string | number | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

function toTotals(row: Row): MinuteTotals {
  const last = row.last_report_at;
  return {
    selections: num(row.selections),
    calls: num(row.calls),
    successes: num(row.successes),
    failures: num(row.failures),
    byOutcome: {
      SERVER_ERROR: num(row[OUTCOME_COLUMNS.SERVER_ERROR]),
      TIMEOUT: num(row[OUTCOME_COLUMNS.TIMEOUT]),
      RATE_LIMITED: num(row[OUTCOME_COLUMNS.RATE_LIMITED]),
      AUTH_ERROR: num(row[OUTCOME_COLUMNS.AUTH_ERROR]),
      CLIENT_ERROR: num(row[OUTCOME_COLUMNS.CLIENT_ERROR]),
      UNKNOWN: num(row[OUTCOME_COLUMNS.UNKNOWN]),
    },
    latencySumMs: num(row.latency_sum_ms),
    latencyMaxMs: num(row.latency_max_ms),
    latencyBuckets: LATENCY_BUCKET_COLUMNS.map((c) => num(row[c])),
    ttftCount: num(row.ttft_count),
    ttftSumMs: num(row.ttft_sum_ms),
    ttftBuckets: TTFT_BUCKET_COLUMNS.map((c) => num(row[c])),
    promptTokens: num(row.prompt_tokens),
    completionTokens: num(row.completion_tokens),
    totalTokens: num(row.total_tokens),
    cost: num(row.cost),
    maxOpenLeases: num(row.max_open_leases),
    lastReportAt: last === null || last === undefined ? null : num(last),
  };
}

// The figures' definitions live in ./figures (one place); these names stay for existing imports.
export { averageLatencyOf, percentileOf, successRateOf } from './figures';

/** Several instances' totals as one (additive columns added, max-wins ones maxed). */
export function sumTotals(list: readonly MinuteTotals[]): MinuteTotals {
  const add = (f: (t: MinuteTotals) => number): number => list.reduce((sum, t) => sum + f(t), 0);
  const max = (f: (t: MinuteTotals) => number): number => list.reduce((m, t) => Math.max(m, f(t)), 0);
  const buckets = (f: (t: MinuteTotals) => readonly number[]): number[] => {
    const out: number[] = [];
    for (const t of list) f(t).forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
    return out;
  };
  const last = list.reduce<number | null>(
    (m, t) => (t.lastReportAt === null ? m : Math.max(m ?? t.lastReportAt, t.lastReportAt)),
    null,
  );
  return {
    selections: add((t) => t.selections),
    calls: add((t) => t.calls),
    successes: add((t) => t.successes),
    failures: add((t) => t.failures),
    byOutcome: {
      SERVER_ERROR: add((t) => t.byOutcome.SERVER_ERROR),
      TIMEOUT: add((t) => t.byOutcome.TIMEOUT),
      RATE_LIMITED: add((t) => t.byOutcome.RATE_LIMITED),
      AUTH_ERROR: add((t) => t.byOutcome.AUTH_ERROR),
      CLIENT_ERROR: add((t) => t.byOutcome.CLIENT_ERROR),
      UNKNOWN: add((t) => t.byOutcome.UNKNOWN),
    },
    latencySumMs: add((t) => t.latencySumMs),
    latencyMaxMs: max((t) => t.latencyMaxMs),
    latencyBuckets: buckets((t) => t.latencyBuckets),
    ttftCount: add((t) => t.ttftCount),
    ttftSumMs: add((t) => t.ttftSumMs),
    ttftBuckets: buckets((t) => t.ttftBuckets),
    promptTokens: add((t) => t.promptTokens),
    completionTokens: add((t) => t.completionTokens),
    totalTokens: add((t) => t.totalTokens),
    cost: add((t) => t.cost),
    maxOpenLeases: max((t) => t.maxOpenLeases),
    lastReportAt: last,
  };
}

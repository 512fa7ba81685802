import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import { bucketColumns } from '../histogram';

/** Outcome classes counted per minute, as columns (SUCCESS is `successes`). */
export const OUTCOME_COLUMNS = {
  SERVER_ERROR: 'server_errors',
  TIMEOUT: 'timeouts',
  RATE_LIMITED: 'rate_limited',
  AUTH_ERROR: 'auth_errors',
  CLIENT_ERROR: 'client_errors',
  UNKNOWN: 'unknown_errors',
} as const;

export const LATENCY_BUCKET_COLUMNS = bucketColumns('lat');
export const TTFT_BUCKET_COLUMNS = bucketColumns('ttft');

/** Columns that add up when two aggregates of the same instance and minute meet. */
export const ADDITIVE_COLUMNS: readonly string[] = [
  'selections',
  'calls',
  'successes',
  'failures',
  ...Object.values(OUTCOME_COLUMNS),
  'latency_sum_ms',
  ...LATENCY_BUCKET_COLUMNS,
  'ttft_count',
  'ttft_sum_ms',
  ...TTFT_BUCKET_COLUMNS,
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'cost',
];

/** Additive columns of type `double`; every other additive column is an `integer`. */
const REAL_COLUMNS: ReadonlySet<string> = new Set([
  'latency_sum_ms',
  'ttft_sum_ms',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'cost',
]);

/** The largest value an `integer` column holds on both dialects (MySQL's signed INT; SQLite's is 64-bit). */
export const INTEGER_COLUMN_MAX = 2_147_483_647;

/**
 * The largest value written into a `double` column. A double holds ~1.8e308, but upserts add what
 * is written to what is there, so a row is kept far below that: at 2^53 - 1 it still counts
 * tokens exactly, and a row at this value can be added to ~1e292 times before the sum overflows.
 */
export const REAL_COLUMN_MAX = Number.MAX_SAFE_INTEGER;

/** The largest value each of {@link ADDITIVE_COLUMNS} may carry in one write (same order). */
export const ADDITIVE_COLUMN_MAX: readonly number[] = ADDITIVE_COLUMNS.map((name) =>
  REAL_COLUMNS.has(name) ? REAL_COLUMN_MAX : INTEGER_COLUMN_MAX,
);

/** Columns where the larger value wins. */
export const MAX_COLUMNS: readonly string[] = ['latency_max_ms', 'max_open_leases', 'last_report_at'];

/** One row of `instance_metrics_minute`, as read (column names; numbers as numbers). */
export type MinuteRow = Record<string, number | string | null>;

const int: EntitySchemaColumnOptions = { type: 'integer', default: 0 };
const real: EntitySchemaColumnOptions = { type: 'double', default: 0 };

/**
 * `instance_metrics_minute`: one row per instance and minute (epoch ms of the minute's start),
 * upserted additively by the write-behind `MinuteAggregator`. The histogram buckets are columns so
 * an upsert can add them up in SQL — safe when several nodes write the same minute.
 */
export const InstanceMetricsMinuteSchema = new EntitySchema<MinuteRow>({
  name: 'InstanceMetricsMinute',
  tableName: 'instance_metrics_minute',
  columns: {
    instance_id: { type: 'varchar', length: 32, primary: true },
    minute_ts: { type: 'bigint', primary: true },
    project_id: { type: 'varchar', length: 32 },
    ...Object.fromEntries(ADDITIVE_COLUMNS.map((name) => [name, REAL_COLUMNS.has(name) ? real : int])),
    latency_max_ms: real,
    max_open_leases: int,
    breaker_state: { type: 'varchar', length: 16, nullable: true },
    last_report_at: { type: 'bigint', nullable: true },
  },
  indices: [
    { name: 'ix_metrics_minute_project_minute', columns: ['project_id', 'minute_ts'] },
    { name: 'ix_metrics_minute_minute', columns: ['minute_ts'] },
  ],
});

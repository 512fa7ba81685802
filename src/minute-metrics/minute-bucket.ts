import {
  ADDITIVE_COLUMNS,
  ADDITIVE_COLUMN_MAX,
  INTEGER_COLUMN_MAX,
  OUTCOME_COLUMNS,
  REAL_COLUMN_MAX,
  LATENCY_BUCKET_COLUMNS,
  TTFT_BUCKET_COLUMNS,
} from './entities/instance-metrics-minute.schema';
import { costOfCall, tokensOfCall } from './cost';
import { bucketOf } from './histogram';
import type { OutcomeClass } from '../common/outcome';
import { FAILURE_CLASSES } from '../common/outcome';

const INDEX = new Map(ADDITIVE_COLUMNS.map((name, i) => [name, i]));
const at = (name: string): number => INDEX.get(name)!;

const SELECTIONS = at('selections');
const CALLS = at('calls');
const SUCCESSES = at('successes');
const FAILURES = at('failures');
const LATENCY_SUM = at('latency_sum_ms');
const LATENCY_BUCKET0 = at(LATENCY_BUCKET_COLUMNS[0]);
const TTFT_COUNT = at('ttft_count');
const TTFT_SUM = at('ttft_sum_ms');
const TTFT_BUCKET0 = at(TTFT_BUCKET_COLUMNS[0]);
const PROMPT = at('prompt_tokens');
const COMPLETION = at('completion_tokens');
const TOTAL = at('total_tokens');
const COST = at('cost');
const OUTCOME_INDEX: Readonly<Record<OutcomeClass, number>> = {
  SUCCESS: SUCCESSES,
  SERVER_ERROR: at(OUTCOME_COLUMNS.SERVER_ERROR),
  TIMEOUT: at(OUTCOME_COLUMNS.TIMEOUT),
  RATE_LIMITED: at(OUTCOME_COLUMNS.RATE_LIMITED),
  AUTH_ERROR: at(OUTCOME_COLUMNS.AUTH_ERROR),
  CLIENT_ERROR: at(OUTCOME_COLUMNS.CLIENT_ERROR),
  UNKNOWN: at(OUTCOME_COLUMNS.UNKNOWN),
};

/** What one report adds to its instance's minute. */
export interface MinuteReport {
  readonly outcome: OutcomeClass;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly totalTokens?: number;
  readonly cost?: number;
  /** Server time it arrived (epoch ms). */
  readonly receivedAt: number;
}

/** Column maxima as a typed array, indexed like {@link MinuteBucket.values}. */
const COLUMN_MAX = Float64Array.from(ADDITIVE_COLUMN_MAX);

/** A reported quantity as summed: finite, not negative, and within what a `double` column takes. */
const amount = (value: number | undefined): number =>
  // Stryker disable next-line EqualityOperator: `>= 0` lets only 0 (or -0) through, which adds nothing to a sum, a bucket or a max
  value !== undefined && Number.isFinite(value) && value > 0 ? Math.min(value, REAL_COLUMN_MAX) : 0;

/**
 * The aggregate of one instance's reports and selections in one minute, before it is written:
 * the additive columns of `instance_metrics_minute` in a typed array (no allocation per report),
 * plus the max-wins ones. Two buckets of the same key merge by adding, exactly as the upsert does.
 * Every value is finite and within what its column holds, whatever was reported: a sum stops at
 * its column's maximum (`ADDITIVE_COLUMN_MAX`) rather than grow into a value the database refuses.
 */
export class MinuteBucket {
  readonly values = new Float64Array(ADDITIVE_COLUMNS.length);
  latencyMaxMs = 0;
  maxOpenLeases = 0;
  lastReportAt: number | null = null;
  breakerState: string | null = null;

  constructor(
    readonly projectId: string,
    readonly instanceId: string,
    /** Epoch ms of the minute's start. */
    readonly minute: number,
  ) {}

  addSelection(openLeases: number): void {
    this.add(SELECTIONS, 1);
    this.seeOpenLeases(openLeases);
  }

  /**
   * Counts one report. Its cost is the reported one, else `costPerUnit` (the instance's price of a
   * token) × its reported tokens (docs/figures.md).
   */
  addReport(report: MinuteReport, openLeases: number, costPerUnit?: number): void {
    this.add(CALLS, 1);
    this.add(OUTCOME_INDEX[report.outcome], 1);
    if (FAILURE_CLASSES.has(report.outcome)) this.add(FAILURES, 1);
    const latency = amount(report.latencyMs);
    this.add(LATENCY_SUM, latency);
    this.add(LATENCY_BUCKET0 + bucketOf(latency), 1);
    // Stryker disable next-line EqualityOperator: at an equal latency `>=` assigns the value already there
    if (latency > this.latencyMaxMs) this.latencyMaxMs = latency;
    if (report.ttftMs !== undefined && Number.isFinite(report.ttftMs) && report.ttftMs >= 0) {
      const ttft = amount(report.ttftMs);
      this.add(TTFT_COUNT, 1);
      this.add(TTFT_SUM, ttft);
      this.add(TTFT_BUCKET0 + bucketOf(ttft), 1);
    }
    this.add(PROMPT, amount(report.promptTokens));
    this.add(COMPLETION, amount(report.completionTokens));
    this.add(TOTAL, amount(tokensOfCall(report)));
    this.add(COST, amount(costOfCall(report, costPerUnit)));
    this.seeOpenLeases(openLeases);
    // Stryker disable next-line EqualityOperator: at an equal time `>=` assigns the value already there
    if (this.lastReportAt === null || report.receivedAt > this.lastReportAt) this.lastReportAt = report.receivedAt;
  }

  /** Adds `other` (same instance and minute) into this one. */
  merge(other: MinuteBucket): void {
    // Stryker disable next-line EqualityOperator: `<=` only adds one index past the typed array's end, a write a Float64Array ignores
    for (let i = 0; i < this.values.length; i++) this.add(i, other.values[i]);
    this.latencyMaxMs = Math.max(this.latencyMaxMs, other.latencyMaxMs);
    this.maxOpenLeases = Math.max(this.maxOpenLeases, other.maxOpenLeases);
    // Stryker disable next-line EqualityOperator: at an equal time `>=` assigns the value already there
    if (other.lastReportAt !== null && (this.lastReportAt === null || other.lastReportAt > this.lastReportAt)) {
      this.lastReportAt = other.lastReportAt;
    }
    this.breakerState = other.breakerState ?? this.breakerState;
  }

  /** Adds `value` (finite, not negative) to column `i`, stopping at the column's maximum. */
  private add(i: number, value: number): void {
    const sum = this.values[i] + value;
    // Stryker disable next-line EqualityOperator: at the maximum itself both branches store the same value
    this.values[i] = sum < COLUMN_MAX[i] ? sum : COLUMN_MAX[i];
  }

  private seeOpenLeases(openLeases: number): void {
    const leases = Math.min(openLeases, INTEGER_COLUMN_MAX);
    // Stryker disable next-line EqualityOperator: at an equal count `>=` assigns the value already there
    if (leases > this.maxOpenLeases) this.maxOpenLeases = leases;
  }

  get calls(): number {
    return this.values[CALLS];
  }

  get selections(): number {
    return this.values[SELECTIONS];
  }
}

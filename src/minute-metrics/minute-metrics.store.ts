import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ADDITIVE_COLUMNS, ADDITIVE_COLUMN_MAX, MAX_COLUMNS } from './entities/instance-metrics-minute.schema';
import type { MinuteBucket } from './minute-bucket';

const TABLE = 'instance_metrics_minute';
const KEY_COLUMNS = ['instance_id', 'minute_ts', 'project_id'];
const COLUMNS = [
  ...KEY_COLUMNS,
  ...ADDITIVE_COLUMNS,
  'latency_max_ms',
  'max_open_leases',
  'last_report_at',
  'breaker_state',
];
/** One row's placeholders. */
const ROW = `(${COLUMNS.map(() => '?').join(',')})`;
/** Rows per INSERT: ~80 columns each keeps a statement well under both dialects' placeholder limits. */
const ROWS_PER_STATEMENT = 200;

/**
 * Writes minute aggregates to `instance_metrics_minute` as additive upserts — `ON DUPLICATE KEY
 * UPDATE c = LEAST(c + VALUES(c), max)` on MySQL/MariaDB, `ON CONFLICT … DO UPDATE SET
 * c = min(c + excluded.c, max)` on SQLite: a sum stops at its column's maximum instead of failing
 * the row on MySQL (an INT column refuses 2^31) — in one transaction per call, so a call is all or nothing and several nodes can write
 * the same instance and minute. Also purges rows past the retention.
 */
@Injectable()
export class MinuteMetricsStore {
  private readonly mysql: boolean;
  private readonly insertInto = `INSERT INTO ${TABLE} (${COLUMNS.join(',')}) VALUES `;
  private readonly onConflictClause: string;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.mysql = dataSource.options.type === 'mysql';
    this.onConflictClause = ` ${this.onConflict()}`;
  }

  async upsert(buckets: readonly MinuteBucket[]): Promise<void> {
    if (buckets.length === 0) return;
    await this.dataSource.transaction(async (manager) => {
      for (let start = 0; start < buckets.length; start += ROWS_PER_STATEMENT) {
        const end = Math.min(start + ROWS_PER_STATEMENT, buckets.length);
        const params: unknown[] = [];
        for (let at = start; at < end; at++) {
          const bucket = buckets[at];
          params.push(bucket.instanceId, bucket.minute, bucket.projectId);
          // A loop, not a spread: spreading the typed array walked an iterator, an object per value.
          const values = bucket.values;
          for (let i = 0; i < values.length; i++) params.push(values[i]);
          params.push(bucket.latencyMaxMs, bucket.maxOpenLeases, bucket.lastReportAt, bucket.breakerState);
        }
        await manager.query(this.statementFor(end - start), params);
      }
    });
  }

  /** The upsert of `rows` rows, from parts made once. */
  private statementFor(rows: number): string {
    return this.insertInto + ROW + `,${ROW}`.repeat(rows - 1) + this.onConflictClause;
  }

  /**
   * Whether the database answers at all (`SELECT 1`): after a failed write it tells "the database
   * is down" from "it refused some row".
   */
  async ping(): Promise<boolean> {
    try {
      await this.dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Which of these projects still exist (rows of a deleted one can never be written: foreign key). */
  async existingProjects(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM projects WHERE id IN (${ids.map(() => '?').join(',')})`,
      [...ids],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Deletes minutes before `before` (epoch ms); returns how many rows went. */
  async purgeBefore(before: number): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(`DELETE FROM ${TABLE} WHERE minute_ts < ?`, [before], true);
      return result.affected ?? 0;
    } finally {
      await runner.release();
    }
  }

  private onConflict(): string {
    if (this.mysql) {
      const sets = [
        ...ADDITIVE_COLUMNS.map((c, i) => `${c} = LEAST(${c} + VALUES(${c}), ${ADDITIVE_COLUMN_MAX[i]})`),
        ...MAX_COLUMNS.map((c) => `${c} = GREATEST(COALESCE(${c}, VALUES(${c})), COALESCE(VALUES(${c}), ${c}))`),
        'breaker_state = COALESCE(VALUES(breaker_state), breaker_state)',
      ];
      return `ON DUPLICATE KEY UPDATE ${sets.join(', ')}`;
    }
    const sets = [
      ...ADDITIVE_COLUMNS.map((c, i) => `${c} = min(${c} + excluded.${c}, ${ADDITIVE_COLUMN_MAX[i]})`),
      ...MAX_COLUMNS.map((c) => `${c} = max(COALESCE(${c}, excluded.${c}), COALESCE(excluded.${c}, ${c}))`),
      'breaker_state = COALESCE(excluded.breaker_state, breaker_state)',
    ];
    return `ON CONFLICT (instance_id, minute_ts) DO UPDATE SET ${sets.join(', ')}`;
  }
}

import { type MigrationInterface, type QueryRunner, Table, type TableColumnOptions, TableForeignKey } from 'typeorm';

const BUCKETS = 23; // LATENCY_BOUNDS_MS.length + 1, fixed at the time of this migration
const buckets = (prefix: string): string[] =>
  Array.from({ length: BUCKETS }, (_, i) => `${prefix}_b${String(i).padStart(2, '0')}`);
const int = (name: string): TableColumnOptions => ({ name, type: 'integer', default: 0 });
const real = (name: string): TableColumnOptions => ({ name, type: 'double', default: 0 });

/**
 * Durable per-minute metrics of each instance, upserted additively by the write-behind aggregator.
 * The minute is epoch ms (`bigint`): range queries and bucketing by 5 min or 1 h are plain
 * arithmetic on both dialects. Histogram buckets are columns so an upsert can add them in SQL.
 * Deleting a project deletes its metrics.
 */
export class CreateInstanceMetricsMinute1767226000000 implements MigrationInterface {
  name = 'CreateInstanceMetricsMinute1767226000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'instance_metrics_minute',
        columns: [
          { name: 'instance_id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'minute_ts', type: 'bigint', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '32' },
          int('selections'),
          int('calls'),
          int('successes'),
          int('failures'),
          ...['server_errors', 'timeouts', 'rate_limited', 'auth_errors', 'client_errors', 'unknown_errors'].map(int),
          real('latency_sum_ms'),
          ...buckets('lat').map(int),
          int('ttft_count'),
          real('ttft_sum_ms'),
          ...buckets('ttft').map(int),
          real('prompt_tokens'),
          real('completion_tokens'),
          real('total_tokens'),
          real('cost'),
          real('latency_max_ms'),
          int('max_open_leases'),
          { name: 'breaker_state', type: 'varchar', length: '16', isNullable: true },
          { name: 'last_report_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          { name: 'ix_metrics_minute_project_minute', columnNames: ['project_id', 'minute_ts'] },
          { name: 'ix_metrics_minute_minute', columnNames: ['minute_ts'] },
        ],
      }),
    );
    await queryRunner.createForeignKey(
      'instance_metrics_minute',
      new TableForeignKey({
        name: 'fk_metrics_minute_project',
        columnNames: ['project_id'],
        referencedTableName: 'projects',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropForeignKey('instance_metrics_minute', 'fk_metrics_minute_project');
    await queryRunner.dropTable('instance_metrics_minute');
  }
}

import { type MigrationInterface, type QueryRunner, Table, TableForeignKey } from 'typeorm';

/**
 * The durable log of breaker transitions (written behind by `BreakerEventLog`).
 *
 * `at` is `datetime(3)` like every other timestamp here: MySQL/MariaDB keep milliseconds with
 * precision 3, and TypeORM stores SQLite datetimes as UTC text `YYYY-MM-DD HH:MM:SS.SSS`, which
 * keeps them too and sorts and compares correctly as text. So no epoch-ms `bigint` is needed.
 *
 * No foreign key to `api_instances`: the history of a deleted instance is kept on purpose.
 */
export class CreateBreakerEvents1767225900000 implements MigrationInterface {
  name = 'CreateBreakerEvents1767225900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'breaker_events',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '32' },
          { name: 'instance_id', type: 'varchar', length: '32' },
          { name: 'from_state', type: 'varchar', length: '16' },
          { name: 'to_state', type: 'varchar', length: '16' },
          { name: 'reason', type: 'varchar', length: '255' },
          { name: 'at', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'ix_breaker_events_project_at', columnNames: ['project_id', 'at'] },
          { name: 'ix_breaker_events_instance_at', columnNames: ['instance_id', 'at'] },
          { name: 'ix_breaker_events_at', columnNames: ['at'] },
        ],
      }),
    );
    // Deleting a project deletes its events in the same statement.
    await queryRunner.createForeignKey(
      'breaker_events',
      new TableForeignKey({
        name: 'fk_breaker_events_project',
        columnNames: ['project_id'],
        referencedTableName: 'projects',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropForeignKey('breaker_events', 'fk_breaker_events_project');
    await queryRunner.dropTable('breaker_events');
  }
}

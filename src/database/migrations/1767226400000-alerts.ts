import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';
import { timestampColumns } from '../migration-helpers';

/**
 * Alerts (issue #20): `breaker_events.actor` — who made a transition (`system`, or the admin
 * behind an operator's `admin:<username>`; rows written before it read `system`) — and the
 * `webhooks` the alerts are delivered to.
 *
 * A webhook's `secret` is stored as issued: the gateway signs every delivery with it, so it must
 * be able to read it back (it is shown once, at creation or rotation, and never logged). `events`
 * is a comma-separated list of event names. `project_id` null: a global webhook (every project's
 * events); deleting a project deletes its webhooks in the same statement.
 */
export class Alerts1767226400000 implements MigrationInterface {
  name = 'Alerts1767226400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'breaker_events',
      new TableColumn({ name: 'actor', type: 'varchar', length: '80', isNullable: false, default: "'system'" }),
    );
    const timestamps = timestampColumns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'webhooks',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'url', type: 'varchar', length: '2048' },
          { name: 'project_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'events', type: 'varchar', length: '255' },
          { name: 'format', type: 'varchar', length: '8' },
          { name: 'enabled', type: 'boolean', isNullable: false, default: true },
          { name: 'secret', type: 'varchar', length: '128' },
          { name: 'secret_prefix', type: 'varchar', length: '16' },
          { name: 'last_delivery_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'last_delivery_status', type: 'int', isNullable: true },
          { name: 'last_delivery_ok', type: 'boolean', isNullable: true },
          { name: 'last_delivery_error', type: 'varchar', length: '300', isNullable: true },
          ...timestamps,
        ],
        indices: [{ name: 'ix_webhooks_project_id', columnNames: ['project_id'] }],
      }),
    );
    await queryRunner.createForeignKey(
      'webhooks',
      new TableForeignKey({
        name: 'fk_webhooks_project',
        columnNames: ['project_id'],
        referencedTableName: 'projects',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropForeignKey('webhooks', 'fk_webhooks_project');
    await queryRunner.dropTable('webhooks');
    await queryRunner.dropColumn('breaker_events', 'actor');
  }
}

import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { timestampColumns } from '../migration-helpers';

/** Key/value settings the gateway generates once and shares between nodes (e.g. the JWT secret). */
export class CreateSettings1767225600000 implements MigrationInterface {
  name = 'CreateSettings1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'settings',
        columns: [
          { name: 'key', type: 'varchar', length: '128', isPrimary: true },
          { name: 'value', type: 'text', isNullable: false },
          timestampColumns(queryRunner)[1],
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('settings');
  }
}

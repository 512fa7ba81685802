import { type MigrationInterface, type QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { timestampColumns } from '../migration-helpers';

/** Projects, their hashed API keys, and admin users. */
export class CreateTenancy1767225700000 implements MigrationInterface {
  name = 'CreateTenancy1767225700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamps = timestampColumns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'projects',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'name', type: 'varchar', length: '50' },
          { name: 'description', type: 'varchar', length: '200', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'settings', type: 'text' },
          ...timestamps,
        ],
        indices: [{ name: 'ix_projects_name', columnNames: ['name'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'key_hash', type: 'varchar', length: '64' },
          { name: 'prefix', type: 'varchar', length: '16' },
          { name: 'description', type: 'varchar', length: '200', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'scopes', type: 'text', isNullable: true },
          { name: 'project_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'expires_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'last_used_at', type: 'datetime', precision: 3, isNullable: true },
          ...timestamps,
        ],
      }),
    );
    await queryRunner.createIndex(
      'api_keys',
      new TableIndex({ name: 'uq_api_keys_key_hash', columnNames: ['key_hash'], isUnique: true }),
    );
    await queryRunner.createIndex(
      'api_keys',
      new TableIndex({ name: 'ix_api_keys_project_id', columnNames: ['project_id'] }),
    );
    // Deleting a project deletes its keys in the same statement, so nothing is left half-deleted.
    await queryRunner.createForeignKey(
      'api_keys',
      new TableForeignKey({
        name: 'fk_api_keys_project',
        columnNames: ['project_id'],
        referencedTableName: 'projects',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'admin_users',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'username', type: 'varchar', length: '64', isUnique: true },
          { name: 'password_hash', type: 'varchar', length: '255' },
          { name: 'role', type: 'varchar', length: '16' },
          ...timestamps,
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('admin_users');
    await queryRunner.dropForeignKey('api_keys', 'fk_api_keys_project');
    await queryRunner.dropTable('api_keys');
    await queryRunner.dropTable('projects');
  }
}

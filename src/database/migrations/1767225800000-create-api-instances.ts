import { type MigrationInterface, type QueryRunner, Table, TableForeignKey } from 'typeorm';
import { timestampColumns } from '../migration-helpers';

/** The registered backend instances of each project. */
export class CreateApiInstances1767225800000 implements MigrationInterface {
  name = 'CreateApiInstances1767225800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_instances',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '32' },
          { name: 'user_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'api_identifier', type: 'varchar', length: '128' },
          { name: 'api_type', type: 'varchar', length: '32' },
          { name: 'business_id', type: 'varchar', length: '128' },
          { name: 'routing_params', type: 'text' },
          { name: 'metadata', type: 'text', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          ...timestampColumns(queryRunner),
        ],
        indices: [
          {
            name: 'uq_api_instances_project_type_business',
            columnNames: ['project_id', 'api_type', 'business_id'],
            isUnique: true,
          },
          {
            name: 'ix_api_instances_project_type_identifier',
            columnNames: ['project_id', 'api_type', 'api_identifier'],
          },
          { name: 'ix_api_instances_project_status', columnNames: ['project_id', 'status'] },
        ],
      }),
    );
    await queryRunner.createForeignKey(
      'api_instances',
      new TableForeignKey({
        name: 'fk_api_instances_project',
        columnNames: ['project_id'],
        referencedTableName: 'projects',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropForeignKey('api_instances', 'fk_api_instances_project');
    await queryRunner.dropTable('api_instances');
  }
}

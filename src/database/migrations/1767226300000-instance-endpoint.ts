import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * `api_instances.endpoint` (issue #16): the URL to call, a first-class field instead of a key each
 * caller had to dig out of free `metadata`. Nullable: existing instances have none.
 */
export class InstanceEndpoint1767226300000 implements MigrationInterface {
  name = 'InstanceEndpoint1767226300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'api_instances',
      new TableColumn({ name: 'endpoint', type: 'varchar', length: '2048', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('api_instances', 'endpoint');
  }
}

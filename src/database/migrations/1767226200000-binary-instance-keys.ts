import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The columns compared as bytes: the unique key's business id, and the identifier callers select by. */
const COLUMNS = ['business_id', 'api_identifier'] as const;

/**
 * Business ids and API identifiers compare byte for byte on MySQL/MariaDB, as on SQLite and in the
 * in-memory index (issue #15, finding 11d): under the database's default `utf8mb4_unicode_ci`,
 * `Model-A`, `model-a` and `model-a ` were one key, so registering the second failed with a
 * duplicate entry (a 500) and a lookup by one reached the other. The collation is the server's
 * binary one without space padding (`utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin` on MySQL 8);
 * a server with neither gets `utf8mb4_bin`, which still pads trailing spaces — the registry answers
 * those clashes 409 INSTANCE_CONFLICT. SQLite compares bytes already: nothing to do there.
 *
 * `down` restores the table's default collation; it fails if keys differing only by case have
 * been registered since (the case-insensitive unique key cannot hold them both).
 */
export class BinaryInstanceKeys1767226200000 implements MigrationInterface {
  name = 'BinaryInstanceKeys1767226200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') return;
    await setCollation(queryRunner, await binaryCollation(queryRunner));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') return;
    const rows = (await queryRunner.query(
      "SELECT TABLE_COLLATION AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'api_instances'",
    )) as { name: string }[];
    await setCollation(queryRunner, rows[0]?.name ?? 'utf8mb4_unicode_ci');
  }
}

/** The server's binary utf8mb4 collation, preferring one that does not pad trailing spaces. */
async function binaryCollation(queryRunner: QueryRunner): Promise<string> {
  const preferred = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'];
  const rows = (await queryRunner.query(
    'SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (?, ?)',
    preferred,
  )) as { name: string }[];
  const available = new Set(rows.map((row) => row.name));
  return preferred.find((name) => available.has(name)) ?? 'utf8mb4_bin';
}

async function setCollation(queryRunner: QueryRunner, collation: string): Promise<void> {
  const columns = COLUMNS.map(
    (column) => `MODIFY \`${column}\` VARCHAR(128) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL`,
  );
  await queryRunner.query(`ALTER TABLE \`api_instances\` ${columns.join(', ')}`);
}

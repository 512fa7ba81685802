import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * Admin tokens follow the user record (issue #15, finding 8): `admin_users.token_version`, the
 * `ver` claim a token must carry, raised to revoke every token of a user. Also stores existing
 * usernames in their canonical form (trimmed, NFKC, lower case), as new ones are; a name whose
 * canonical form another row already holds is left as it is.
 */
export class AdminTokenVersion1767226100000 implements MigrationInterface {
  name = 'AdminTokenVersion1767226100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'admin_users',
      new TableColumn({ name: 'token_version', type: 'int', isNullable: false, default: 0 }),
    );
    const rows = (await queryRunner.query('SELECT id, username FROM admin_users')) as {
      id: string;
      username: string;
    }[];
    // Inlined rather than imported: a migration must keep doing what it did when it was written.
    const canonical = (name: string) => name.trim().normalize('NFKC').toLowerCase();
    const taken = new Set(rows.map((row) => row.username));
    for (const row of rows) {
      const name = canonical(row.username);
      if (name === row.username || taken.has(name)) continue;
      await queryRunner.query('UPDATE admin_users SET username = ? WHERE id = ?', [name, row.id]);
      taken.add(name);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('admin_users', 'token_version');
  }
}

import { Logger } from '@nestjs/common';
import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * Admin tokens follow the user record (issue #15, finding 8): `admin_users.token_version`, the
 * `ver` claim a token must carry, raised to revoke every token of a user. Also stores existing
 * usernames in their canonical form (trimmed, NFKC, lower case), as new ones are; a name whose
 * canonical form another row already holds is left as it is — that account can no longer log in
 * (logins look the canonical name up), so each one is named in a warning for an admin to rename
 * or delete. Usernames are not secrets.
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
      if (name === row.username) continue;
      if (taken.has(name)) {
        new Logger('Migrations').warn(
          `Admin user '${row.username}' (id ${row.id}) keeps its name: its canonical form '${name}' belongs to ` +
            'another user. It cannot log in any more (logins use the canonical name); an admin should delete it ' +
            'with DELETE /api/admin/users/{id}, or give its owner another account',
        );
        continue;
      }
      await queryRunner.query('UPDATE admin_users SET username = ? WHERE id = ?', [name, row.id]);
      taken.add(name);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('admin_users', 'token_version');
  }
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { MIGRATIONS } from '../../src/database/migrations';
import { AdminTokenVersion1767226100000 } from '../../src/database/migrations/1767226100000-admin-token-version';
import { describeEachDatabase } from '../utils/test-database';

/**
 * Issue #15 review, L6: the token-version migration stores usernames canonical, except a name
 * whose canonical form another row already holds. That account can no longer log in (every
 * login name is made canonical first), so the migration must say which one it left.
 */
describeEachDatabase('abuse: the username migration names the accounts it cannot make canonical', (database) => {
  const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(AdminTokenVersion1767226100000));
  let env: Record<string, string>;
  // Two data sources in turn: SQLite needs a file, not a database in memory, to see the same tables.
  const dir = mkdtempSync(join(tmpdir(), 'gw-migration-'));
  beforeAll(async () => {
    env = { ...(await database.prepare()) };
    if (database.name === 'sqlite') env.GATEWAY_SQLITE_PATH = join(dir, 'gateway.db');
  });
  afterAll(async () => {
    await database.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A data source on the test database that knows only `migrations`. */
  async function connect(migrations: typeof MIGRATIONS): Promise<DataSource> {
    const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
    return new DataSource({ ...dataSourceOptions(config.database), migrations }).initialize();
  }

  it('warns once per left-over row, naming it; the other rows are made canonical', async () => {
    const old = await connect(before);
    try {
      await old.runMigrations({ transaction: 'each' });
      // ' Ops' and 'ops' are two names to MySQL's collation too (a leading space counts).
      for (const [id, username] of [
        ['a'.repeat(32), 'ops'],
        ['b'.repeat(32), ' Ops'],
        ['c'.repeat(32), 'Viewer'],
      ]) {
        await old.query("INSERT INTO admin_users (id, username, password_hash, role) VALUES (?, ?, 'x', 'admin')", [
          id,
          username,
        ]);
      }
    } finally {
      await old.destroy();
    }

    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const current = await connect(MIGRATIONS);
    try {
      await current.runMigrations({ transaction: 'each' });
      const rows: { id: string; username: string }[] = await current.query(
        'SELECT id, username FROM admin_users ORDER BY id',
      );
      expect(rows.map((row) => row.username)).toEqual(['ops', ' Ops', 'viewer']);
      const messages = warn.mock.calls.map((call) => String(call[0]));
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain("' Ops'");
      expect(messages[0]).toContain("'ops'");
      expect(messages[0]).toContain('b'.repeat(32));
    } finally {
      warn.mockRestore();
      await current.destroy();
    }
  });
});

import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { describeEachDatabase } from './utils/test-database';

describeEachDatabase('migrations', (database) => {
  let dataSource: DataSource;

  beforeAll(async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', ...(await database.prepare()) });
    dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.dispose();
  });

  /** Tables of this database only (SQLite's own bookkeeping tables left out). */
  const tables = async (): Promise<string[]> => {
    const sql =
      dataSource.options.type === 'mysql'
        ? 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()'
        : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
    const rows: { name: string }[] = await dataSource.query(sql);
    return rows.map((row) => row.name).sort();
  };

  it('applies the whole set from empty, then reverts every one of them', async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(applied).toHaveLength(MIGRATIONS.length);
    expect(await tables()).toEqual(expect.arrayContaining(['migrations', 'settings']));
    expect(await dataSource.showMigrations()).toBe(false);

    for (let i = 0; i < MIGRATIONS.length; i += 1) await dataSource.undoLastMigration({ transaction: 'each' });

    expect(await tables()).toEqual(['migrations']);
    expect(await dataSource.showMigrations()).toBe(true);
  });

  it('applies again after a full revert (down is the exact inverse of up)', async () => {
    await dataSource.runMigrations({ transaction: 'each' });
    expect(await dataSource.showMigrations()).toBe(false);
  });
});

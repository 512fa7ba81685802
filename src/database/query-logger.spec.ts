import { DataSource, QueryFailedError } from 'typeorm';
import { describeQueryError } from './query-logger';

describe('describeQueryError', () => {
  it('keeps the type, the code and the message, without parameters or quoted values', () => {
    const driverError = Object.assign(new Error("Duplicate entry 'alice@example.com' for key 'uq_user'"), {
      code: 'ER_DUP_ENTRY',
      sql: "INSERT INTO `user` VALUES ('alice@example.com', 'scrypt$secret-hash')",
    });
    const error = new QueryFailedError('INSERT INTO `user` VALUES (?, ?)', ['alice@example.com', 'hash'], driverError);
    const summary = describeQueryError(error);
    expect(summary).toEqual({
      type: 'QueryFailedError',
      code: 'ER_DUP_ENTRY',
      message: "Duplicate entry '…' for key '…'",
    });
    expect(JSON.stringify(summary)).not.toMatch(/alice|secret-hash|hash/);
  });

  it('handles escaped quotes inside a value and plain strings', () => {
    expect(describeQueryError("Duplicate entry 'o\\'brien' for key 'k'").message).toBe(
      "Duplicate entry '…' for key '…'",
    );
    expect(describeQueryError('connection lost')).toEqual({ type: 'Error', message: 'connection lost' });
  });

  it('summarises a real SQLite constraint failure without the value', async () => {
    const database = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await database.initialize();
    try {
      await database.query('CREATE TABLE t (name TEXT UNIQUE)');
      await database.query('INSERT INTO t VALUES (?)', ['secret-value']);
      const failure: unknown = await database
        .query('INSERT INTO t VALUES (?)', ['secret-value'])
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(QueryFailedError);
      const summary = describeQueryError(failure as QueryFailedError);
      expect(summary.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
      expect(JSON.stringify(summary)).not.toContain('secret-value');
    } finally {
      await database.destroy();
    }
  });
});

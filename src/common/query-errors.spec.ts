import { DataSource, QueryFailedError } from 'typeorm';
import { describeQueryError, serializeError } from './query-errors';

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

describe('serializeError (the logger err serializer)', () => {
  it("drops a database error's values: parameters, the driver's SQL and quoted values in message and stack", () => {
    const driverError = Object.assign(new Error("Duplicate entry 'bob@example.com' for key 'uq'"), {
      code: 'ER_DUP_ENTRY',
      sql: "INSERT INTO t VALUES ('bob@example.com')",
      sqlMessage: "Duplicate entry 'bob@example.com' for key 'uq'",
    });
    const error = new QueryFailedError('INSERT INTO t VALUES (?)', ['bob@example.com'], driverError);
    const serialized = serializeError(error) as Record<string, unknown>;
    expect(serialized).toMatchObject({ type: 'QueryFailedError', code: 'ER_DUP_ENTRY' });
    expect(serialized.message).toBe("Duplicate entry '…' for key '…'");
    expect(String(serialized.stack)).toContain('QueryFailedError');
    expect(JSON.stringify(serialized)).not.toContain('bob@example.com');
  });

  it('leaves other errors as pino would serialize them, and non-errors alone', () => {
    const plain = Object.assign(new Error("can't reach 'redis'"), { code: 'ECONNREFUSED' });
    expect(serializeError(plain)).toMatchObject({
      type: 'Error',
      message: "can't reach 'redis'",
      code: 'ECONNREFUSED',
    });
    expect(serializeError('text')).toBe('text');
  });
});

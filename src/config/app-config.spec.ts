import { ConfigValidationError, loadConfig } from './app-config';
import { redactUrl } from './env-parsers';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8081,
      host: '0.0.0.0',
      logLevel: 'info',
      database: { type: 'sqlite', path: './data/gateway.sqlite' },
      runMigrations: true,
      bodyLimitBytes: 65536,
      batchBodyLimitBytes: 4194304,
      corsOrigins: [],
      shutdownTimeoutMs: 10000,
      swaggerEnabled: true,
    });
  });

  it('reads a MySQL DATABASE_URL, decoding credentials', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://gw%40ops:p%3Ass@db.internal:3307/gateway' });
    expect(config.database).toEqual({
      type: 'mysql',
      host: 'db.internal',
      port: 3307,
      username: 'gw@ops',
      password: 'p:ss',
      database: 'gateway',
    });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).port).toBe(8081);
  });

  it.each([
    [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://u:p@h/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://u:p@h:3306/' }, 'DATABASE_URL'],
    [{ PORT: '80a' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ GATEWAY_MIGRATIONS_RUN: 'maybe' }, 'GATEWAY_MIGRATIONS_RUN'],
    [{ GATEWAY_BODY_LIMIT_BYTES: '10' }, 'GATEWAY_BODY_LIMIT_BYTES'],
  ])('rejects %j naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigValidationError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('lists every bad variable at once, never echoing a password', () => {
    let error: ConfigValidationError | undefined;
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y', DATABASE_URL: 'pg://u:hunter2@h/db' });
    } catch (caught) {
      error = caught as ConfigValidationError;
    }
    expect(error?.problems).toHaveLength(3);
    expect(error?.message).not.toContain('hunter2');
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('mysql://root:secret@localhost:3306/db')).toBe('mysql://root:***@localhost:3306/db');
    expect(redactUrl('pg://u:hunter2@h/db')).not.toContain('hunter2');
  });
});

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

describe('GATEWAY_TRUST_PROXY', () => {
  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    [' 10.0.0.0/8 , fd00::/8,::1, 192.168.1.0/24 ', ['10.0.0.0/8', 'fd00::/8', '::1', '192.168.1.0/24']],
    ['loopback,uniquelocal,linklocal', ['loopback', 'uniquelocal', 'linklocal']],
  ])('reads %j', (raw, expected) => {
    expect(loadConfig({ GATEWAY_TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it.each([
    'loadbalancer.internal',
    '10.0.0.1,proxy',
    '10.0.0.300',
    '10.0.0.0/33',
    '10.0.0.0/0',
    'fd00::/129',
    '10.0.0.0/x',
  ])('refuses %j naming the variable and what it accepts', (raw) => {
    expect(() => loadConfig({ GATEWAY_TRUST_PROXY: raw })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ GATEWAY_TRUST_PROXY: raw })).toThrow(/GATEWAY_TRUST_PROXY=.*IP addresses or CIDR ranges/);
  });
});

describe('body depth and JSON depth', () => {
  it('defaults the body depth to leave room for the deepest metadata a batch may carry', () => {
    expect(loadConfig({}).limits).toMatchObject({ jsonDepth: 8, bodyDepth: 32 });
    // A batch nests metadata 3 levels down; one level more than allowed must still reach the field check.
    expect(loadConfig({ GATEWAY_MAX_JSON_DEPTH: '64' }).limits).toMatchObject({ jsonDepth: 64, bodyDepth: 68 });
    expect(loadConfig({ GATEWAY_MAX_JSON_DEPTH: '40', GATEWAY_MAX_BODY_DEPTH: '44' }).limits.bodyDepth).toBe(44);
  });

  it('refuses a body depth that would answer BODY_TOO_DEEP before the metadata check, naming both variables', () => {
    const env = { GATEWAY_MAX_JSON_DEPTH: '40', GATEWAY_MAX_BODY_DEPTH: '43' };
    expect(() => loadConfig(env)).toThrow(ConfigValidationError);
    expect(() => loadConfig(env)).toThrow(/GATEWAY_MAX_BODY_DEPTH=43.*GATEWAY_MAX_JSON_DEPTH=40.*at least 44/);
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('mysql://root:secret@localhost:3306/db')).toBe('mysql://root:***@localhost:3306/db');
    expect(redactUrl('pg://u:hunter2@h/db')).not.toContain('hunter2');
  });
});

describe('cluster mode (REDIS_URL)', () => {
  const MYSQL = 'mysql://root@127.0.0.1:3306/gateway';

  it('is off without REDIS_URL', () => {
    expect(loadConfig({}).cluster).toBeUndefined();
  });

  it('reads REDIS_URL, GATEWAY_REDIS_PREFIX and GATEWAY_NODE_ID', () => {
    const config = loadConfig({
      DATABASE_URL: MYSQL,
      REDIS_URL: 'rediss://:s3cret@cache.internal:6380/2',
      GATEWAY_REDIS_PREFIX: 'gw-prod:',
      GATEWAY_NODE_ID: 'gw-a',
    });
    expect(config.cluster).toEqual({
      redis: { kind: 'url', url: 'rediss://:s3cret@cache.internal:6380/2' },
      prefix: 'gw-prod:',
      nodeId: 'gw-a',
    });
  });

  it('defaults the prefix to gateway: and the node id to hostname-pid', () => {
    const config = loadConfig({ DATABASE_URL: MYSQL, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(config.cluster?.prefix).toBe('gateway:');
    expect(config.cluster?.nodeId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('reads Redis Sentinel as redis-sentinel://[:password@]host:port,host:port/master[/db]', () => {
    const config = loadConfig({
      DATABASE_URL: MYSQL,
      REDIS_URL: 'redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/3',
    });
    expect(config.cluster?.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      password: 'pw',
      db: 3,
    });
  });

  it('refuses REDIS_URL with the embedded SQLite, naming both variables', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /REDIS_URL is set \(cluster mode\) but DATABASE_URL is not/,
    );
  });

  it.each([
    'http://:topsecret@127.0.0.1:6379',
    'redis://',
    'redis://h:6379/x',
    'redis-sentinel://h:26379',
    'redis-sentinel://h:x/m',
  ])('refuses REDIS_URL=%s with the shapes it accepts, never echoing a password', (url) => {
    expect(() => loadConfig({ DATABASE_URL: MYSQL, REDIS_URL: url })).toThrow(/REDIS_URL: expected redis:\/\//);
  });

  it('refuses a prefix or node id with spaces or glob characters', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: MYSQL, REDIS_URL: 'redis://h:6379', GATEWAY_REDIS_PREFIX: 'a b*' }),
    ).toThrow(/GATEWAY_REDIS_PREFIX/);
    expect(() => loadConfig({ DATABASE_URL: MYSQL, REDIS_URL: 'redis://h:6379', GATEWAY_NODE_ID: 'x y' })).toThrow(
      /GATEWAY_NODE_ID/,
    );
  });
});

import { EnvReader, type Env } from './env-parsers';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type DatabaseConfig =
  | { readonly type: 'sqlite'; readonly path: string }
  | {
      readonly type: 'mysql';
      readonly host: string;
      readonly port: number;
      readonly username: string;
      readonly password: string;
      readonly database: string;
    };

/** The whole, validated configuration of one gateway process. Built once, then read-only. */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** Pretty logs for humans; JSON otherwise. */
  readonly logPretty: boolean;
  readonly database: DatabaseConfig;
  readonly runMigrations: boolean;
  readonly bodyLimitBytes: number;
  /** Empty: CORS off. `['*']`: any origin. */
  readonly corsOrigins: readonly string[];
  readonly shutdownTimeoutMs: number;
  readonly swaggerEnabled: boolean;
}

/** Injection token of {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * Reads and validates every environment variable the gateway understands.
 * Throws {@link ConfigValidationError} listing each bad variable and what it expects.
 *
 * @example
 * const config = loadConfig({ PORT: '9000', GATEWAY_SQLITE_PATH: ':memory:' });
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const read = new EnvReader(env);
  const config: AppConfig = {
    port: read.int('PORT', 8081, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logPretty: read.bool('LOG_PRETTY', Boolean(process.stdout.isTTY)),
    database: readDatabase(read),
    runMigrations: read.bool('GATEWAY_MIGRATIONS_RUN', true),
    bodyLimitBytes: read.int('GATEWAY_BODY_LIMIT_BYTES', 64 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
    corsOrigins: read.list('GATEWAY_CORS_ORIGINS'),
    shutdownTimeoutMs: read.int('GATEWAY_SHUTDOWN_TIMEOUT_MS', 10_000, { min: 0, max: 600_000 }),
    swaggerEnabled: read.bool('GATEWAY_SWAGGER_ENABLED', true),
  };
  if (read.problems.length > 0) throw new ConfigValidationError(read.problems);
  return config;
}

function readDatabase(read: EnvReader): DatabaseConfig {
  const url = read.url('DATABASE_URL', ['mysql', 'mariadb']);
  if (!url) return { type: 'sqlite', path: read.string('GATEWAY_SQLITE_PATH', './data/gateway.sqlite') };
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) {
    read.problems.push('DATABASE_URL: expected a database name in the path, e.g. mysql://user:pass@host:3306/gateway');
  }
  return {
    type: 'mysql',
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
  };
}

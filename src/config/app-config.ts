import { type ClusterConfig, readCluster, readNodeId } from './cluster-config';
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
  readonly metrics: MetricsConfig;
  /** Body limit of the batch routes (up to 1000 items each). */
  readonly batchBodyLimitBytes: number;
  /** Empty: CORS off. `['*']`: any origin. */
  readonly corsOrigins: readonly string[];
  readonly shutdownTimeoutMs: number;
  readonly swaggerEnabled: boolean;
  readonly auth: AuthConfig;
  /** `GATEWAY_NODE_ID`: this node's name in logs, `/api/health` and metrics. */
  readonly nodeId: string;
  /** Cluster mode; undefined on a single node (no `REDIS_URL`). */
  readonly cluster: ClusterConfig | undefined;
}

export interface AuthConfig {
  readonly adminUsername: string;
  /** Unset: generated and printed once when no admin exists yet. */
  readonly adminPassword?: string;
  /** Keys seeded as UNUSED at start-up if absent (how AgentX keeps its configured key). */
  readonly bootstrapApiKeys: readonly string[];
  /** Unset: generated once and stored in `settings`, so every node accepts the same tokens. */
  readonly jwtSecret?: string;
  readonly jwtTtlSeconds: number;
  /** Requests per minute per API key (per IP on public routes); 0 turns throttling off. */
  readonly throttlePerMinute: number;
  /** Send `X-RateLimit-*` headers on every throttled route's answer (a 429 always has Retry-After). */
  readonly throttleHeaders: boolean;
}

/** Injection token of {@link AppConfig}. */
/** Minute metrics (write-behind) and the Prometheus endpoint. */
export interface MetricsConfig {
  /** How often aggregated reports are written, ms. */
  readonly flushIntervalMs: number;
  /** Minute rows older than this many days are purged. */
  readonly retentionDays: number;
  /** Rows held while the database is unavailable; beyond it the oldest are dropped (counted). */
  readonly bufferRows: number;
  /** When set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
}

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
  const database = readDatabase(read);
  const nodeId = readNodeId(read);
  const config: AppConfig = {
    port: read.int('PORT', 8081, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logPretty: read.bool('LOG_PRETTY', Boolean(process.stdout.isTTY)),
    database,
    runMigrations: read.bool('GATEWAY_MIGRATIONS_RUN', true),
    bodyLimitBytes: read.int('GATEWAY_BODY_LIMIT_BYTES', 64 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
    batchBodyLimitBytes: read.int('GATEWAY_BATCH_BODY_LIMIT_BYTES', 4 * 1024 * 1024, {
      min: 1024,
      max: 64 * 1024 * 1024,
    }),
    corsOrigins: read.list('GATEWAY_CORS_ORIGINS'),
    shutdownTimeoutMs: read.int('GATEWAY_SHUTDOWN_TIMEOUT_MS', 10_000, { min: 0, max: 600_000 }),
    swaggerEnabled: read.bool('GATEWAY_SWAGGER_ENABLED', true),
    auth: readAuth(read),
    metrics: {
      flushIntervalMs: read.int('GATEWAY_METRICS_FLUSH_MS', 1000, { min: 100, max: 60_000 }),
      retentionDays: read.int('GATEWAY_METRICS_RETENTION_DAYS', 30, { min: 1, max: 3650 }),
      bufferRows: read.int('GATEWAY_METRICS_BUFFER_ROWS', 200_000, { min: 1000, max: 10_000_000 }),
      token: read.optionalString('GATEWAY_METRICS_TOKEN'),
    },
    nodeId,
    cluster: readCluster(read, database.type === 'mysql', nodeId),
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

function readAuth(read: EnvReader): AuthConfig {
  const adminPassword = read.optionalString('GATEWAY_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 8) {
    read.problems.push('GATEWAY_ADMIN_PASSWORD: expected at least 8 characters');
  }
  const jwtSecret = read.optionalString('GATEWAY_JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    read.problems.push('GATEWAY_JWT_SECRET: expected at least 32 characters');
  }
  const bootstrapApiKeys = read.list('GATEWAY_BOOTSTRAP_API_KEYS');
  const shortKey = bootstrapApiKeys.find((key) => key.length < 16 || key.length > 256);
  if (shortKey !== undefined) {
    read.problems.push('GATEWAY_BOOTSTRAP_API_KEYS: expected keys of 16 to 256 characters');
  }
  return {
    adminUsername: read.string('GATEWAY_ADMIN_USERNAME', 'admin'),
    adminPassword,
    bootstrapApiKeys,
    jwtSecret,
    jwtTtlSeconds: read.int('GATEWAY_JWT_TTL_SECONDS', 3600, { min: 60, max: 7 * 86400 }),
    throttlePerMinute: read.int('GATEWAY_THROTTLE_PER_MINUTE', 600_000, { min: 0 }),
    throttleHeaders: read.bool('GATEWAY_THROTTLE_HEADERS', false),
  };
}

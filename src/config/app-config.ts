import { isIP } from 'node:net';
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
  /** Body limit of the batch routes (a batch holds up to the per-project instance cap). */
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
  /** What one tenant may hold of the shared process (docs/security.md). */
  readonly limits: LimitsConfig;
  /**
   * `GATEWAY_TRUST_PROXY`: whether `X-Forwarded-For` names the client (behind a proxy). `false`
   * (default): the socket's address; `true`: every hop (the client then chooses its own address
   * with the leftmost entry — start-up warns); a number: that many proxy hops; otherwise a list of
   * trusted proxy addresses, CIDR ranges or proxy-addr's named ranges (`loopback`, `linklocal`,
   * `uniquelocal`), validated here — passed to Fastify's `trustProxy`.
   */
  readonly trustProxy: boolean | number | readonly string[];
  /** Webhook delivery of alerts (docs/alerts.md). */
  readonly alerts: AlertsConfig;
}

/** Webhook delivery (docs/alerts.md): behind the request path, bounded, retried. */
export interface AlertsConfig {
  /** Alert events waiting for delivery; beyond it the oldest are dropped (counted, logged). */
  readonly queueSize: number;
  /** How long one delivery attempt may take, ms. */
  readonly timeoutMs: number;
  /** Attempts per delivery (the first included), with exponential backoff and jitter between them. */
  readonly maxAttempts: number;
}

/**
 * Per-project caps on the shared process: each stops a hostile or broken tenant from taking
 * memory, the event loop or the database from the others, and each is far above what a real
 * client sends (AgentX registers every model of every user in one batch, ~1000 instances).
 */
export interface LimitsConfig {
  /** Instances one project may hold (ACTIVE and INACTIVE); a batch beyond it is refused whole. */
  readonly instancesPerProject: number;
  /** Keys per object in `metadata` and `routingParams`, at any depth. */
  readonly jsonKeysPerObject: number;
  /** Nesting depth of `metadata` and `routingParams` (the object itself is depth 1). */
  readonly jsonDepth: number;
  /**
   * Nesting depth of any JSON request body; deeper bodies are refused before parsing. At least
   * {@link BODY_DEPTH_ABOVE_JSON_DEPTH} above `jsonDepth`, so metadata nested too deep is refused
   * naming its field, not as a whole body.
   */
  readonly bodyDepth: number;
  /** Leases (selections not yet reported) one project may hold open on one node. */
  readonly openLeasesPerProject: number;
  /** Upper bound of a lease's time to live (`leaseTtlMs`, `timeoutMs`), ms. */
  readonly maxLeaseTtlMs: number;
  /** Affinity bindings one project may hold on one node; beyond, its least recently used go. */
  readonly affinityPerProject: number;
  /** Candidates an `explain` answer lists (the best first); the rest are counted. */
  readonly explainCandidates: number;
  /**
   * Candidates one project's selects may judge per second on one node (a select costs the
   * instances it judges); beyond, 429 `SELECTION_BUDGET_EXHAUSTED` until it refills. 0: no budget.
   */
  readonly selectCandidatesPerSecond: number;
  /**
   * Instances one project's registry writes (registrations, updates, deletions) may touch per
   * minute on one node, a minute's worth at once; beyond, 429 `REGISTRY_BUDGET_EXHAUSTED`. 0: none.
   */
  readonly registryWritesPerMinute: number;
  /** Days breaker transitions are kept in `breaker_events`. */
  readonly breakerEventsRetentionDays: number;
  /** Breaker transitions one project may write per minute; beyond, they are counted, not stored. */
  readonly breakerEventsPerProjectPerMinute: number;
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
  /** Password checks (logins, password changes) started per second on one node; 0: no rate. */
  readonly loginHashesPerSecond: number;
  /** Send `X-RateLimit-*` headers on every throttled route's answer (a 429 always has Retry-After). */
  readonly throttleHeaders: boolean;
}

/** Minute metrics (write-behind) and the Prometheus endpoint. */
export interface MetricsConfig {
  /** How often aggregated reports are written, ms. */
  readonly flushIntervalMs: number;
  /** Minute rows older than this many days are purged. */
  readonly retentionDays: number;
  /** Rows held while the database is unavailable; beyond it the oldest are dropped (counted). */
  readonly bufferRows: number;
  /** `GET /metrics` accepts `Authorization: Bearer <token>` (an admin JWT is accepted too). */
  readonly token: string | undefined;
  /** `GATEWAY_METRICS_PUBLIC=true`: `/metrics` without credentials (the operator's explicit opt-out). */
  readonly public: boolean;
  /**
   * `GATEWAY_METRICS_PER_INSTANCE`: the per-instance call counters and latency histogram
   * (`gateway_instance_calls_total`, `gateway_instance_latency_ms`); `false` for very large fleets.
   */
  readonly perInstance: boolean;
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
      public: read.bool('GATEWAY_METRICS_PUBLIC', false),
      perInstance: read.bool('GATEWAY_METRICS_PER_INSTANCE', true),
    },
    nodeId,
    cluster: readCluster(read, database.type === 'mysql', nodeId),
    limits: readLimits(read),
    trustProxy: readTrustProxy(read),
    alerts: {
      queueSize: read.int('GATEWAY_WEBHOOK_QUEUE_SIZE', 1000, { min: 10, max: 100_000 }),
      timeoutMs: read.int('GATEWAY_WEBHOOK_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
      maxAttempts: read.int('GATEWAY_WEBHOOK_MAX_ATTEMPTS', 5, { min: 1, max: 20 }),
    },
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

/**
 * How much deeper than `GATEWAY_MAX_JSON_DEPTH` a body must be allowed to nest: a batch holds
 * `metadata` 3 levels down (`{"instances":[{"metadata":…}]}`), and metadata one level deeper than
 * allowed must still reach the check that names its field.
 */
export const BODY_DEPTH_ABOVE_JSON_DEPTH = 4;

function readLimits(read: EnvReader): LimitsConfig {
  const jsonDepth = read.int('GATEWAY_MAX_JSON_DEPTH', 8, { min: 1, max: 64 });
  return {
    instancesPerProject: read.int('GATEWAY_MAX_INSTANCES_PER_PROJECT', 5000, { min: 1, max: 1_000_000 }),
    jsonKeysPerObject: read.int('GATEWAY_MAX_JSON_KEYS', 128, { min: 1, max: 10_000 }),
    jsonDepth,
    bodyDepth: readBodyDepth(read, jsonDepth),
    openLeasesPerProject: read.int('GATEWAY_MAX_OPEN_LEASES_PER_PROJECT', 50_000, { min: 1, max: 10_000_000 }),
    maxLeaseTtlMs: read.int('GATEWAY_MAX_LEASE_TTL_MS', 900_000, { min: 1000, max: 86_400_000 }),
    affinityPerProject: read.int('GATEWAY_MAX_AFFINITY_PER_PROJECT', 100_000, { min: 1, max: 10_000_000 }),
    explainCandidates: read.int('GATEWAY_EXPLAIN_MAX_CANDIDATES', 20, { min: 1, max: 1000 }),
    selectCandidatesPerSecond: read.int('GATEWAY_SELECT_CANDIDATES_PER_SECOND', 250_000, { min: 0 }),
    registryWritesPerMinute: read.int('GATEWAY_REGISTRY_WRITES_PER_MINUTE', 10_000, { min: 0 }),
    breakerEventsRetentionDays: read.int('GATEWAY_BREAKER_EVENTS_RETENTION_DAYS', 30, { min: 1, max: 3650 }),
    breakerEventsPerProjectPerMinute: read.int('GATEWAY_BREAKER_EVENTS_PER_MINUTE', 600, { min: 1, max: 1_000_000 }),
  };
}

/**
 * `GATEWAY_MAX_BODY_DEPTH`, by default 32 or {@link BODY_DEPTH_ABOVE_JSON_DEPTH} above the JSON
 * depth when that is more; a value set below that is refused, naming both variables.
 */
function readBodyDepth(read: EnvReader, jsonDepth: number): number {
  const least = jsonDepth + BODY_DEPTH_ABOVE_JSON_DEPTH;
  const bodyDepth = read.int('GATEWAY_MAX_BODY_DEPTH', Math.max(32, least), { min: 4, max: 256 });
  if (bodyDepth < least) {
    read.problems.push(
      `GATEWAY_MAX_BODY_DEPTH=${bodyDepth} with GATEWAY_MAX_JSON_DEPTH=${jsonDepth}: expected at least ${least} ` +
        `(the JSON depth + ${BODY_DEPTH_ABOVE_JSON_DEPTH}: a batch nests metadata 3 levels down), or leave it unset`,
    );
  }
  return bodyDepth;
}

/** proxy-addr's named ranges, which Fastify's `trustProxy` accepts in a list. */
const NAMED_PROXY_RANGES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

function readTrustProxy(read: EnvReader): boolean | number | readonly string[] {
  const raw = read.optionalString('GATEWAY_TRUST_PROXY');
  if (raw === undefined) return false;
  const normalized = raw.trim().toLowerCase();
  if (['true', 'yes', 'on'].includes(normalized)) return true;
  if (['false', 'no', 'off', ''].includes(normalized)) return false;
  if (/^\d+$/.test(normalized)) return Math.min(Number(normalized), 100);
  const entries = read.list('GATEWAY_TRUST_PROXY');
  const bad = entries.filter((entry) => !isProxyAddress(entry));
  if (bad.length > 0) {
    read.problems.push(
      `GATEWAY_TRUST_PROXY="${raw}": expected true, false, a hop count, or a comma-separated list of the proxies' ` +
        `IP addresses or CIDR ranges (e.g. 10.0.0.5,10.1.0.0/16) or loopback/linklocal/uniquelocal; ` +
        `not an address: ${bad.join(', ')}`,
    );
  }
  return entries;
}

/**
 * An entry Fastify's `trustProxy` (proxy-addr) accepts: an IPv4/IPv6 address, optionally with a
 * prefix length of 1 up to 32/128, or a named range. Host names are not: the adapter would throw
 * at start-up without naming the variable.
 */
function isProxyAddress(entry: string): boolean {
  if (NAMED_PROXY_RANGES.has(entry)) return true;
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= max;
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
    loginHashesPerSecond: read.int('GATEWAY_LOGIN_HASHES_PER_SECOND', 5, { min: 0 }),
    throttleHeaders: read.bool('GATEWAY_THROTTLE_HEADERS', false),
  };
}

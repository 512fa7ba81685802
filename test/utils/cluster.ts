import { randomBytes } from 'node:crypto';
import { type Run, listeningUrl, startGateway } from './gateway-process';

/**
 * Several real gateway processes (`src/main.ts`) forming one cluster: the same MySQL/MariaDB
 * database, the same Redis, each with its own `GATEWAY_NODE_ID`, and a small HTTP client that
 * spreads calls over them. Nothing here imports the application: the test talks to the nodes over
 * HTTP only, as a user's client would.
 */

/** The bootstrap admin of every node (created by the first one, found by the others). */
export const CLUSTER_ADMIN = { username: 'admin', password: 'cluster-admin-password' } as const;

/** The bearer token that opens every node's `/metrics` (`GATEWAY_METRICS_TOKEN`). */
export const CLUSTER_METRICS_TOKEN = 'cluster-metrics-token-0123456789';

/** One running node. */
export interface GatewayNode {
  /** Its name in the test ("a", "b", "c"), also its `GATEWAY_NODE_ID`. */
  readonly name: string;
  readonly url: string;
  readonly run: Run;
}

/** The reference envelope: `data` on success, `error` (a stable code) on failure. */
export interface Envelope<T = unknown> {
  readonly code: number;
  readonly message?: string;
  readonly data?: T;
  readonly error?: string;
  readonly details?: unknown;
}

/** A response: HTTP status and parsed body (the text as `message` when it is not JSON). */
export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: Envelope<T>;
  readonly text: string;
}

/** What to send: a JSON body, a project's key, an admin's JWT. */
export interface CallOptions {
  readonly body?: unknown;
  readonly apiKey?: string;
  readonly token?: string;
}

/**
 * One HTTP call to a node. A refused connection (a node that died) fails with the end of the
 * node's output, which says why.
 *
 * @example
 * const res = await call(a, 'POST', '/api/gateway/select-instance', { apiKey, body });
 * expect(res.status).toBe(200);
 */
export async function call<T = unknown>(
  node: GatewayNode,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.apiKey !== undefined) headers['api-key'] = options.apiKey;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let res: Response;
  try {
    res = await fetch(`${node.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    throw new Error(
      `${method} ${path} on node ${node.name} failed (${String(error)}); the node's last output:\n` +
        node.run.output().slice(-4000),
    );
  }
  const text = await res.text();
  let body: Envelope<T>;
  try {
    body = JSON.parse(text) as Envelope<T>;
  } catch {
    body = { code: res.status, message: text };
  }
  return { status: res.status, body, text };
}

/** Like {@link call}, but anything other than 200 throws with the answer: for set-up steps. */
export async function ok<T = unknown>(
  node: GatewayNode,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<T> {
  const res = await call<T>(node, method, path, options);
  if (res.status !== 200) {
    throw new Error(`${method} ${path} on node ${node.name}: HTTP ${res.status} ${res.text.slice(0, 1000)}`);
  }
  return res.body.data as T;
}

/** Starts one node and resolves once it listens; rejects with its output if it exits first. */
export async function startNode(name: string, env: Record<string, string>): Promise<GatewayNode> {
  const run = startGateway({ PORT: '0', HOST: '127.0.0.1', GATEWAY_NODE_ID: name, ...env });
  try {
    return { name, url: await listeningUrl(run), run };
  } catch (error) {
    await stopNode({ name, url: '', run });
    throw error;
  }
}

/** SIGTERM (a graceful stop), SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopNode(node: GatewayNode, graceMs = 10_000): Promise<void> {
  const { child } = node.run;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await node.run.exited;
  clearTimeout(forced);
}

/** A random `GATEWAY_REDIS_PREFIX`, so runs and suites never share keys or channels. */
export function uniqueRedisPrefix(label = 'e2e'): string {
  return `${label}-${randomBytes(4).toString('hex')}:`;
}

export interface ClusterOptions {
  /** The shared database's variables (`DATABASE_URL`), from a fresh test database. */
  readonly databaseEnv: Record<string, string>;
  /** `REDIS_URL` of every node (`redis://…` or `redis-sentinel://…`). */
  readonly redisUrl: string;
  /** Node names, each its `GATEWAY_NODE_ID`; the first one starts alone and runs the migrations. */
  readonly names: readonly string[];
  /** `GATEWAY_REDIS_PREFIX`; a unique one when not given. */
  readonly prefix?: string;
  /** More variables for every node. */
  readonly env?: Record<string, string>;
}

/** The nodes of a running cluster and a client that spreads calls over them. */
export class Cluster {
  private turn = 0;

  constructor(
    readonly nodes: readonly GatewayNode[],
    readonly prefix: string,
  ) {}

  /** The node named `name`. */
  node(name: string): GatewayNode {
    const found = this.nodes.find((node) => node.name === name);
    if (found === undefined) throw new Error(`no node ${name} in this cluster`);
    return found;
  }

  /** The next node in turn: a client spreading its requests over the cluster. */
  next(): GatewayNode {
    const node = this.nodes[this.turn % this.nodes.length];
    this.turn++;
    return node;
  }

  /** Stops every node (gracefully, in parallel). */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => stopNode(node)));
  }
}

/**
 * Starts a cluster: the first node alone (it runs the migrations and creates the admin), then the
 * others in parallel once it listens, with `GATEWAY_MIGRATIONS_RUN=false`, as a rolling deployment
 * would. If any node fails to start, the ones started are stopped.
 *
 * @example
 * const cluster = await startCluster({ databaseEnv, redisUrl: redis.url, names: ['a', 'b', 'c'] });
 * await ok(cluster.next(), 'GET', '/api/health');
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const prefix = options.prefix ?? uniqueRedisPrefix();
  const env = {
    ...options.databaseEnv,
    REDIS_URL: options.redisUrl,
    GATEWAY_REDIS_PREFIX: prefix,
    GATEWAY_ADMIN_USERNAME: CLUSTER_ADMIN.username,
    GATEWAY_ADMIN_PASSWORD: CLUSTER_ADMIN.password,
    GATEWAY_METRICS_TOKEN: CLUSTER_METRICS_TOKEN,
    GATEWAY_THROTTLE_PER_MINUTE: '0',
    ...options.env,
  };
  const [first, ...others] = options.names;
  const started: GatewayNode[] = [await startNode(first, env)];
  const rest = await Promise.allSettled(
    others.map((name) => startNode(name, { ...env, GATEWAY_MIGRATIONS_RUN: 'false' })),
  );
  for (const result of rest) if (result.status === 'fulfilled') started.push(result.value);
  const failed = rest.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.map((node) => stopNode(node)));
    throw failed.reason;
  }
  return new Cluster(started, prefix);
}

/** Logs in as {@link CLUSTER_ADMIN} on `node`; the JWT is good on every node (one secret in the database). */
export async function adminToken(node: GatewayNode): Promise<string> {
  const data = await ok<{ accessToken: string }>(node, 'POST', '/api/admin/auth/login', { body: CLUSTER_ADMIN });
  return data.accessToken;
}

/** A project with one ACTIVE key, created through the admin API. */
export interface ClusterProject {
  readonly id: string;
  readonly apiKey: string;
  /** The key's id, for `PUT /api/admin/apikeys/{id}/status`. */
  readonly keyId: string;
}

/** Creates a project and issues it a key, on `node` with an admin JWT. */
export async function createProject(node: GatewayNode, token: string, name: string): Promise<ClusterProject> {
  const project = await ok<{ id: string }>(node, 'POST', '/api/admin/projects', {
    token,
    body: { name: name.slice(0, 50), description: `cluster e2e: ${name}` },
  });
  const key = await ok<{ id: string; apiKeyValue: string }>(node, 'POST', `/api/admin/projects/${project.id}/apikeys`, {
    token,
    body: { description: `key of ${name}` },
  });
  return { id: project.id, apiKey: key.apiKeyValue, keyId: key.id };
}

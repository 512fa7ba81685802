/**
 * The gateway as a policy, through its real HTTP API with the project's key. Callers that report
 * with their selectionId (`full`) use the SDK (`@api-premium-gateway/sdk`): `client.call()` selects,
 * calls the backend at the instance's `endpoint`, classifies, reports (batched) and retries once
 * elsewhere — what an application using the SDK does. The others — reports without a selectionId
 * (AgentX's protocol) or none at all — go select-instance → (the driver calls the backend) →
 * report-result by hand, as those clients do.
 *
 * On several nodes (`--nodes`), calls are spread over the nodes in turn. The hand-made clients
 * send each select to the next node (a retry's select too) and a call's report to the node after
 * the one that selected it, so their reports cross nodes. The SDK's calls use one client per node,
 * taken in turn: a call's selects, its retry and its reports go to that one node (as an
 * application behind a keep-alive load balancer would see it). On one node everything goes to it.
 */
import { GatewayCallError, GatewayClient, GatewaySelectError } from '../../libs/sdk/src';
import { callBackend } from './backend';
import type { Choice, Policy, ReportMode, ServedCall } from './baselines';
import type { Attempt, CallRecord, Outcome } from './types';

export interface GatewayProject {
  /** The first node: registration and admin queries (the database is shared). */
  readonly url: string;
  /** Every node the client spreads its calls over, the first one included. */
  readonly nodeUrls: readonly string[];
  readonly key: string;
  readonly projectId: string;
  /** businessId → instance id. */
  readonly ids: ReadonlyMap<string, string>;
  readonly adminToken: string;
}

const API_TYPE = 'MODEL';

/** What a client library would send for each outcome (errorType only where the class is not obvious). */
function describe(outcome: Outcome, attempt: Attempt): Record<string, unknown> {
  switch (outcome) {
    case 'ok':
      return { statusCode: attempt.statusCode };
    case 'server-error':
    case 'client-error':
      return { statusCode: attempt.statusCode, errorMessage: `HTTP ${attempt.statusCode}` };
    case 'rate-limited':
      return { statusCode: 429, retryAfterMs: attempt.retryAfterMs, errorMessage: 'HTTP 429 Too Many Requests' };
    case 'timeout':
      return { errorType: 'TIMEOUT', errorMessage: 'upstream timed out' };
    case 'refused':
      return { errorMessage: 'connect ECONNREFUSED' };
    case 'reset':
      return { errorMessage: 'socket hang up (ECONNRESET)' };
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown outcome ${String(unknown)}`);
    }
  }
}

/**
 * What the backend's answer looks like to the SDK: a `Response` with its status (and Retry-After),
 * or the error a failed connection throws. A timed-out attempt was already cut by `callBackend`
 * at the scenario's timeout: it throws a timeout as an HTTP client would.
 */
function asBackendAnswer(attempt: Attempt): Response {
  switch (attempt.outcome) {
    case 'ok':
    case 'server-error':
    case 'client-error':
      return new Response(attempt.outcome === 'ok' ? null : `HTTP ${attempt.statusCode}`, {
        status: attempt.statusCode ?? 200,
      });
    case 'rate-limited':
      return new Response('Too Many Requests', {
        status: 429,
        headers: attempt.retryAfterMs === undefined ? {} : { 'retry-after-ms': String(attempt.retryAfterMs) },
      });
    case 'timeout':
      throw Object.assign(new Error('upstream timed out'), { name: 'TimeoutError' });
    case 'refused':
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    case 'reset':
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    default: {
      const unknown: never = attempt.outcome;
      throw new Error(`unknown outcome ${String(unknown)}`);
    }
  }
}

/** The SDK clients' counts over a run: every attempt should be reported, and counted, once. */
export interface SdkFigures {
  readonly calls: number;
  readonly attempts: number;
  readonly reportsSent: number;
  readonly reportsCounted: number;
  readonly duplicates: number;
  readonly dropped: number;
}

export function gatewayPolicy(options: {
  project: GatewayProject;
  primary: string;
  fallbackChain?: readonly string[];
  strategy?: string;
}): Policy & { selectErrors: Map<string, number>; sdkFigures(): SdkFigures } {
  const { project } = options;
  const headers = { 'content-type': 'application/json', 'api-key': project.key };
  const selectErrors = new Map<string, number>();
  const nodes = project.nodeUrls.length;
  let turn = 0;
  /** The node each choice was selected on. */
  const selectedOn = new WeakMap<Choice, number>();
  const post = (node: number, path: string, body: unknown): Promise<Response> =>
    fetch(`${project.nodeUrls[node % nodes]}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  // One SDK client per node; calls take them in turn, as they take the nodes below.
  const clients = project.nodeUrls.map((baseUrl) => new GatewayClient({ baseUrl, apiKey: project.key }));
  const countSelectError = (error: unknown): boolean => {
    const select = error instanceof GatewaySelectError ? error : (error as { cause?: unknown }).cause;
    if (!(select instanceof GatewaySelectError)) return false;
    const code = select.code ?? String(select.status);
    selectErrors.set(code, (selectErrors.get(code) ?? 0) + 1);
    return true;
  };
  const serveWithSdk = async (call: ServedCall): Promise<CallRecord> => {
    const client = clients[turn++ % nodes];
    const attempts: Attempt[] = [];
    try {
      await client.call(
        options.primary,
        async (instance) => {
          const attempt = await callBackend({
            url: instance.endpoint ?? '',
            businessId: instance.businessId,
            timeoutMs: call.timeoutMs,
            atMs: call.now(),
          });
          attempts.push(attempt);
          return asBackendAnswer(attempt);
        },
        {
          apiType: API_TYPE,
          maxAttempts: 2,
          // Two tries, as the driver's own loop gives a call. Unlike the baselines, the SDK may
          // wait out a Retry-After when nothing else is left, within this deadline.
          timeoutMs: 2 * call.timeoutMs,
          attemptTimeoutMs: call.timeoutMs + 1000,
          ...(options.strategy ? { strategy: options.strategy } : {}),
          ...(options.fallbackChain ? { fallbackChain: options.fallbackChain } : {}),
        },
      );
      return { atMs: call.atMs, attempts, refusals: 0 };
    } catch (error) {
      if (countSelectError(error)) return { atMs: call.atMs, attempts, refusals: 1 };
      if (error instanceof GatewayCallError) return { atMs: call.atMs, attempts, refusals: 0 };
      throw error;
    }
  };
  return {
    name: 'gateway',
    selectErrors,
    serveCall: (call) => (call.mode === 'full' ? serveWithSdk(call) : undefined),
    sdkFigures() {
      const all = clients.map((client) => client.stats());
      const sum = (f: (stats: (typeof all)[number]) => number): number => all.reduce((n, stats) => n + f(stats), 0);
      return {
        calls: sum((x) => x.calls),
        attempts: sum((x) => x.attempts),
        reportsSent: sum((x) => x.reports.sent),
        reportsCounted: sum((x) => x.reports.counted),
        duplicates: sum((x) => x.reports.duplicates),
        dropped: sum((x) => x.reports.dropped + x.reports.rejected),
      };
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
    },
    async choose(_nowMs, excluded) {
      const node = turn++ % nodes;
      const response = await post(node, '/api/gateway/select-instance', {
        apiIdentifier: options.primary,
        apiType: API_TYPE,
        ...(options.strategy ? { strategy: options.strategy } : {}),
        ...(options.fallbackChain ? { fallbackChain: options.fallbackChain } : {}),
        ...(excluded.length ? { excludeInstanceIds: excluded.map((e) => e.instanceId) } : {}),
      });
      const body = (await response.json()) as {
        data?: { id: string; businessId: string; selectionId: string };
        error?: string;
      };
      if (response.status !== 200 || !body.data) {
        const code = body.error ?? String(response.status);
        selectErrors.set(code, (selectErrors.get(code) ?? 0) + 1);
        return undefined;
      }
      const choice = { businessId: body.data.businessId, instanceId: body.data.id, selectionId: body.data.selectionId };
      selectedOn.set(choice, node);
      return choice;
    },
    async learn(choice, attempt, mode: ReportMode) {
      if (mode === 'silent') return;
      const response = await post((selectedOn.get(choice) ?? 0) + 1, '/api/gateway/report-result', {
        instanceId: choice.instanceId,
        businessId: choice.businessId,
        success: attempt.outcome === 'ok',
        latencyMs: attempt.durationMs,
        callTimestamp: Math.round(Date.now() - attempt.durationMs),
        ...(mode === 'full' ? { selectionId: choice.selectionId } : {}),
        ...describe(attempt.outcome, attempt),
      });
      if (response.status !== 200)
        throw new Error(`report-result answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer().catch(() => undefined);
    },
    async ejections() {
      // Breaker transitions are written behind every second.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const query = `projectId=${project.projectId}&state=OPEN&size=1`;
      const response = await fetch(`${project.url}/api/admin/breaker-events?${query}`, {
        headers: { authorization: `Bearer ${project.adminToken}` },
      });
      if (response.status !== 200)
        throw new Error(`breaker-events answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { data: { total: number } }).data.total;
    },
  };
}

/** One breaker transition of the scenario's project, seconds from the scenario's start. */
export interface BreakerTransitionRecord {
  readonly businessId: string;
  readonly from: string;
  readonly to: string;
  readonly atS: number;
  readonly reason: string;
}

/**
 * Every breaker transition the gateway logged for the project since `originWallMs` (the
 * scenario's start on the wall clock), oldest first: the breaker's own account of the run. The
 * log is written behind (about once a second), so this reads until two reads a second apart
 * agree, for at most 10 s.
 */
export async function breakerTransitions(
  project: GatewayProject,
  originWallMs: number,
): Promise<BreakerTransitionRecord[]> {
  const deadline = Date.now() + 10_000;
  let last = await readTransitions(project, originWallMs);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const again = await readTransitions(project, originWallMs);
    if (again.length === last.length) return again;
    last = again;
  }
  return last;
}

async function readTransitions(project: GatewayProject, originWallMs: number): Promise<BreakerTransitionRecord[]> {
  const businessIdOf = new Map([...project.ids].map(([businessId, id]) => [id, businessId]));
  const items: { instanceId: string; from: string; to: string; at: string; reason: string }[] = [];
  for (let page = 1; ; page++) {
    const query = `projectId=${project.projectId}&size=200&page=${page}`;
    const response = await fetch(`${project.url}/api/admin/breaker-events?${query}`, {
      headers: { authorization: `Bearer ${project.adminToken}` },
    });
    if (response.status !== 200)
      throw new Error(`breaker-events answered ${response.status}: ${await response.text()}`);
    const { data } = (await response.json()) as { data: { items: typeof items; total: number } };
    items.push(...data.items);
    if (data.items.length === 0 || items.length >= data.total) break;
  }
  // The log lists newest first; oldest first by the exact time, the log's order breaking ties.
  return items
    .reverse()
    .map((e) => ({ e, at: Date.parse(e.at) }))
    .sort((a, b) => a.at - b.at)
    .map(({ e, at }) => ({
      businessId: businessIdOf.get(e.instanceId) ?? e.instanceId,
      from: e.from,
      to: e.to,
      atS: Math.round((at - originWallMs) / 100) / 10,
      reason: e.reason,
    }));
}

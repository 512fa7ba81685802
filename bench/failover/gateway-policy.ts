/**
 * The gateway as a policy: select-instance → (the driver calls the backend) → report-result,
 * through the real HTTP API with the project's key.
 *
 * On several nodes (`--nodes`), the client spreads its calls as a round-robin load balancer
 * would: each select goes to the next node in turn (a retry's select too), and the report of a
 * call goes to the node after the one that selected it, so every report crosses nodes. On one
 * node both go to it, as they always did.
 */
import type { Choice, Policy, ReportMode } from './baselines';
import type { Attempt, Outcome } from './types';

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

export function gatewayPolicy(options: {
  project: GatewayProject;
  primary: string;
  fallbackChain?: readonly string[];
  strategy?: string;
}): Policy & { selectErrors: Map<string, number> } {
  const { project } = options;
  const headers = { 'content-type': 'application/json', 'api-key': project.key };
  const selectErrors = new Map<string, number>();
  const nodes = project.nodeUrls.length;
  let turn = 0;
  /** The node each choice was selected on. */
  const selectedOn = new WeakMap<Choice, number>();
  const post = (node: number, path: string, body: unknown): Promise<Response> =>
    fetch(`${project.nodeUrls[node % nodes]}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return {
    name: 'gateway',
    selectErrors,
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

/**
 * Runs one scenario: registers its backends in a fresh project, starts them, and replays one
 * arrival script through every policy at once (the same instants, the same scripted backends);
 * or, for closed-loop traffic (`client.conversations`), runs each policy's own conversations. On
 * several gateway nodes the registration goes through the first, and the run starts once every
 * other node serves the scenario's instances.
 */
import { NODE_IDS, waitServed } from '../cluster/cluster';
import { call } from '../http/seed';
import { MockBackend, callBackend } from './backend';
import { type Choice, type Policy, type ReportMode, oracle, referenceModel, roundRobin } from './baselines';
import { litellm } from './baselines-litellm';
import { replicaBreakers } from './baselines-replicas';
import {
  type BreakerTransitionRecord,
  type GatewayProject,
  type SdkFigures,
  breakerTransitions,
  gatewayPolicy,
} from './gateway-policy';
import { mulberry32 } from '../../test/utils/mulberry32';
import type { Attempt, CallRecord, ClientProfile, PolicyName, Scenario } from './types';

export interface GatewayTarget {
  /** The (first) node: registration and admin queries. */
  readonly url: string;
  /** The other nodes of a cluster, if any: the client spreads its calls over `url` and these. */
  readonly otherUrls?: readonly string[];
  /** An UNUSED bootstrap key this scenario binds to its own project. */
  readonly key: string;
  readonly adminToken: string;
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly calls: Record<PolicyName, CallRecord[]>;
  readonly ejections: Record<PolicyName, number | undefined>;
  readonly gatewaySelectErrors: Record<string, number>;
  /** What the gateway's SDK clients did (the callers that report with their selectionId). */
  readonly gatewaySdk: SdkFigures;
  /**
   * Breaker state of each instance at the end (gateway): `CLOSED`; on several nodes, the state
   * when every node agrees, else each node's (`a OPEN, b CLOSED, c CLOSED`).
   */
  readonly finalBreakers: Record<string, string>;
  /** The gateway's breaker transitions during the run, oldest first (seconds from its start). */
  readonly breakerTransitions: readonly BreakerTransitionRecord[];
  /** On several nodes: ms from the registration until every other node served the instances. */
  readonly propagationMs?: number;
  readonly wallS: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** How long the other nodes may take to serve a registration made on the first. */
const PROPAGATION_TIMEOUT_MS = 10_000;

/** Seeded Poisson arrivals over the scenario, in ms. */
export function arrivals(scenario: Scenario, seed: number): number[] {
  const random = mulberry32(seed);
  const times: number[] = [];
  for (let t = 0; ;) {
    t += (-Math.log(1 - random()) / scenario.client.rate) * 1000;
    if (t >= scenario.durationS * 1000) return times;
    times.push(t);
  }
}

/** How a call reports, drawn from `u` uniform in [0, 1) along the client's shares. */
function reportMode(u: number, client: ClientProfile): ReportMode {
  const { silentShare, noSelectionIdShare } = client;
  return u < silentShare ? 'silent' : u < silentShare + noSelectionIdShare ? 'no-selection-id' : 'full';
}

/**
 * Closed-loop traffic: each policy runs `count` conversations of its own, each one call at a time
 * with a pause after each, until the scenario's end. Conversation k of every policy draws the same
 * seeded start, report modes and pauses, so the policies differ only in how fast they serve.
 */
async function converse(options: {
  scenario: Scenario;
  seed: number;
  policies: readonly Policy[];
  now: () => number;
  serveOne: (policy: Policy, atMs: number, mode: ReportMode) => Promise<void>;
}): Promise<void> {
  const { scenario, now } = options;
  const { count, thinkMs } = scenario.client.conversations ?? { count: 0, thinkMs: 0 };
  const endMs = scenario.durationS * 1000;
  let failed = false;
  const conversation = async (policy: Policy, k: number): Promise<void> => {
    const random = mulberry32(options.seed * 7919 + k + 1);
    // Spread the first calls over one pause, so that the conversations do not start in lockstep.
    await sleep(random() * thinkMs - now());
    while (!failed && now() < endMs) {
      const mode = reportMode(random(), scenario.client);
      await options.serveOne(policy, now(), mode).catch((error: unknown) => {
        failed = true;
        throw error;
      });
      const pause = thinkMs * (0.5 + random());
      if (now() + pause >= endMs) return;
      await sleep(pause);
    }
  };
  // Every conversation ends (the first failure stops the others at their next turn) before the
  // caller closes the policies and stops the backends; then the first failure is rethrown.
  const results = await Promise.allSettled(
    options.policies.flatMap((policy) => Array.from({ length: count }, (_, k) => conversation(policy, k))),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

async function register(
  scenario: Scenario,
  target: GatewayTarget,
  urls: ReadonlyMap<string, string>,
): Promise<GatewayProject> {
  const project = await call<{ id: string }>(target.url, '/api/projects', {
    name: `failover ${scenario.name}`.slice(0, 50),
    apiKey: target.key,
  });
  const instances = scenario.backends.map((b) => ({
    apiIdentifier: b.apiIdentifier,
    apiType: 'MODEL',
    businessId: b.businessId,
    endpoint: urls.get(b.businessId),
    routingParams: { timeoutMs: scenario.client.timeoutMs, ...b.routingParams },
  }));
  const created = await call<{ id: string; businessId: string }[]>(
    target.url,
    '/api/instances/batch',
    { instances },
    { 'api-key': target.key },
  );
  return {
    url: target.url,
    nodeUrls: [target.url, ...(target.otherUrls ?? [])],
    key: target.key,
    projectId: project.data.id,
    adminToken: target.adminToken,
    ids: new Map(created.data.map((i) => [i.businessId, String(i.id)])),
  };
}

/** One logical call: a try, and one retry elsewhere after a failure the caller may retry. */
async function serve(options: {
  policy: Policy;
  atMs: number;
  mode: ReportMode;
  urls: ReadonlyMap<string, string>;
  timeoutMs: number;
  now: () => number;
}): Promise<CallRecord> {
  const { policy } = options;
  const served = policy.serveCall?.(options);
  if (served !== undefined) return served;
  const attempts: Attempt[] = [];
  const excluded: Choice[] = [];
  let refusals = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const choice = await policy.choose(options.now(), excluded);
    if (!choice) {
      refusals++;
      break;
    }
    const result = await callBackend({
      url: options.urls.get(choice.businessId) ?? '',
      businessId: choice.businessId,
      timeoutMs: options.timeoutMs,
      atMs: options.now(),
    });
    attempts.push(result);
    await policy.learn(choice, result, options.mode);
    if (result.outcome === 'ok' || result.outcome === 'client-error') break;
    excluded.push(choice);
  }
  return { atMs: options.atMs, attempts, refusals };
}

async function finalBreakers(project: GatewayProject): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const [businessId, id] of project.ids) {
    const perNode: string[] = [];
    for (const url of project.nodeUrls) {
      const response = await fetch(`${url}/api/instances/${id}/health`, { headers: { 'api-key': project.key } });
      const body = (await response.json()) as { data?: { breaker?: { state?: string } } };
      perNode.push(body.data?.breaker?.state ?? `HTTP ${response.status}`);
    }
    states[businessId] = perNode.every((state) => state === perNode[0])
      ? perNode[0]
      : perNode.map((state, i) => `${NODE_IDS[i]} ${state}`).join(', ');
  }
  return states;
}

export async function runScenario(scenario: Scenario, target: GatewayTarget, seed = 1): Promise<ScenarioRun> {
  // Before the run starts scenario time is far negative: every script is healthy there.
  let origin = performance.now() + 1e9;
  let originWallMs = Date.now();
  const now = (): number => performance.now() - origin;
  // Each policy calls its own copy of every backend: the same script and seeds, so the same
  // behaviour at the same instant, but a scripted refusal (`refusals`) is dealt to each policy.
  const backends: MockBackend[] = [];
  const startCopy = async (): Promise<ReadonlyMap<string, string>> => {
    const copy = scenario.backends.map((spec, i) => new MockBackend(spec, seed * 1000 + i, now));
    backends.push(...copy);
    await Promise.all(copy.map((b) => b.start()));
    return new Map(copy.map((b) => [b.spec.businessId, b.url]));
  };
  const stopBackends = (): Promise<unknown> => Promise.allSettled(backends.map((b) => b.stop()));
  // Registered with their URLs as `endpoint`: the SDK's callers call what the gateway answers.
  const project = await startCopy()
    .then((urls) => register(scenario, target, urls).then((registered) => ({ ...registered, urls })))
    .catch(async (error: unknown) => {
      await stopBackends();
      throw error;
    });
  const propagationMs = target.otherUrls?.length
    ? await waitServed(target.otherUrls, target.key, [...project.ids.values()], PROPAGATION_TIMEOUT_MS)
    : undefined;
  const gateway = gatewayPolicy({
    project,
    primary: scenario.primary,
    fallbackChain: scenario.fallbackChain,
    strategy: scenario.gatewayStrategy,
  });
  const policies: Policy[] = [
    gateway,
    oracle(scenario),
    roundRobin(scenario),
    referenceModel(scenario),
    replicaBreakers(scenario, { library: 'cockatiel' }),
    replicaBreakers(scenario, { library: 'opossum' }),
    litellm(scenario, { seed }),
  ];
  const calls = Object.fromEntries(policies.map((p) => [p.name, [] as CallRecord[]])) as Record<
    PolicyName,
    CallRecord[]
  >;
  const random = mulberry32(seed + 7);
  const pending: Promise<void>[] = [];
  try {
    const urlsOf = new Map<PolicyName, ReadonlyMap<string, string>>([[gateway.name, project.urls]]);
    for (const policy of policies) if (!urlsOf.has(policy.name)) urlsOf.set(policy.name, await startCopy());
    const { timeoutMs } = scenario.client;
    const serveOne = (policy: Policy, atMs: number, mode: ReportMode): Promise<void> =>
      serve({ policy, atMs, mode, urls: urlsOf.get(policy.name) ?? project.urls, timeoutMs, now }).then(
        (record) => void calls[policy.name].push(record),
      );
    origin = performance.now();
    originWallMs = Date.now();
    if (scenario.client.conversations) pending.push(converse({ scenario, seed, policies, now, serveOne }));
    else {
      for (const atMs of arrivals(scenario, seed)) {
        const wait = atMs - now();
        if (wait > 0) await sleep(wait);
        const mode = reportMode(random(), scenario.client);
        for (const policy of policies) pending.push(serveOne(policy, atMs, mode));
      }
    }
    await Promise.all(pending);
    await Promise.all(policies.map(async (p) => p.close?.()));
    const ejections = Object.fromEntries(
      await Promise.all(policies.map(async (p) => [p.name, await p.ejections()] as const)),
    ) as Record<PolicyName, number | undefined>;
    return {
      scenario,
      calls,
      ejections,
      gatewaySelectErrors: Object.fromEntries(gateway.selectErrors),
      gatewaySdk: gateway.sdkFigures(),
      finalBreakers: await finalBreakers(project),
      breakerTransitions: await breakerTransitions(project, originWallMs),
      wallS: Math.round(now() / 100) / 10,
      ...(propagationMs === undefined ? {} : { propagationMs }),
    };
  } finally {
    await Promise.allSettled(pending);
    await Promise.allSettled(policies.map(async (p) => p.close?.()));
    await stopBackends();
  }
}

/**
 * Runs one scenario: registers its backends in a fresh project, starts them, and replays one
 * arrival script through every policy at once (the same instants, the same backends).
 */
import { call } from '../http/seed';
import { MockBackend, callBackend } from './backend';
import { type Choice, type Policy, type ReportMode, oracle, referenceModel, roundRobin } from './baselines';
import { type GatewayProject, gatewayPolicy } from './gateway-policy';
import { mulberry32 } from '../../test/utils/mulberry32';
import type { Attempt, CallRecord, PolicyName, Scenario } from './types';

export interface GatewayTarget {
  readonly url: string;
  /** An UNUSED bootstrap key this scenario binds to its own project. */
  readonly key: string;
  readonly adminToken: string;
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly calls: Record<PolicyName, CallRecord[]>;
  readonly ejections: Record<PolicyName, number | undefined>;
  readonly gatewaySelectErrors: Record<string, number>;
  /** Breaker state of each instance at the end (gateway). */
  readonly finalBreakers: Record<string, string>;
  readonly wallS: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

async function register(scenario: Scenario, target: GatewayTarget): Promise<GatewayProject> {
  const project = await call<{ id: string }>(target.url, '/api/projects', {
    name: `failover ${scenario.name}`.slice(0, 50),
    apiKey: target.key,
  });
  const instances = scenario.backends.map((b) => ({
    apiIdentifier: b.apiIdentifier,
    apiType: 'MODEL',
    businessId: b.businessId,
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
    const response = await fetch(`${project.url}/api/instances/${id}/health`, { headers: { 'api-key': project.key } });
    const body = (await response.json()) as { data?: { breaker?: { state?: string } } };
    states[businessId] = body.data?.breaker?.state ?? `HTTP ${response.status}`;
  }
  return states;
}

export async function runScenario(scenario: Scenario, target: GatewayTarget, seed = 1): Promise<ScenarioRun> {
  const project = await register(scenario, target);
  // Before the run starts scenario time is far negative: every script is healthy there.
  let origin = performance.now() + 1e9;
  const now = (): number => performance.now() - origin;
  const backends = scenario.backends.map((spec, i) => new MockBackend(spec, seed * 1000 + i, now));
  await Promise.all(backends.map((b) => b.start()));
  const urls = new Map(backends.map((b) => [b.spec.businessId, b.url]));
  const gateway = gatewayPolicy({ project, primary: scenario.primary, fallbackChain: scenario.fallbackChain });
  const policies: Policy[] = [gateway, oracle(scenario), roundRobin(scenario), referenceModel(scenario)];
  const calls = Object.fromEntries(policies.map((p) => [p.name, [] as CallRecord[]])) as Record<
    PolicyName,
    CallRecord[]
  >;
  const random = mulberry32(seed + 7);
  const pending: Promise<void>[] = [];
  try {
    origin = performance.now();
    for (const atMs of arrivals(scenario, seed)) {
      const wait = atMs - now();
      if (wait > 0) await sleep(wait);
      const u = random();
      const { silentShare, noSelectionIdShare, timeoutMs } = scenario.client;
      const mode: ReportMode =
        u < silentShare ? 'silent' : u < silentShare + noSelectionIdShare ? 'no-selection-id' : 'full';
      for (const policy of policies) {
        pending.push(
          serve({ policy, atMs, mode, urls, timeoutMs, now }).then((record) => void calls[policy.name].push(record)),
        );
      }
    }
    await Promise.all(pending);
    const ejections = Object.fromEntries(
      await Promise.all(policies.map(async (p) => [p.name, await p.ejections()] as const)),
    ) as Record<PolicyName, number | undefined>;
    return {
      scenario,
      calls,
      ejections,
      gatewaySelectErrors: Object.fromEntries(gateway.selectErrors),
      finalBreakers: await finalBreakers(project),
      wallS: Math.round(now() / 100) / 10,
    };
  } finally {
    await Promise.allSettled(pending);
    await Promise.all(backends.map((b) => b.stop()));
  }
}

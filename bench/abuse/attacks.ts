/**
 * What the hostile tenant of the noisy-neighbour bench sends (bench/abuse/abuse-bench.ts): the
 * attacks, the instances it registers, and the figures the hostile driver (hostile.ts) hands back.
 * Shared by the parent, which seeds the hostile projects, and the driver, which attacks with them.
 */
import { API_TYPE } from '../http/seed';

export const ATTACKS = ['explain', 'batch', 'login', 'metrics'] as const;
export type Attack = (typeof ATTACKS)[number];

/** The identifier all the wide project's instances share: one select weighs every one of them. */
export const WIDE_IDENTIFIER = 'wide';
/** Instances per registration while seeding the wide project: 1000 thin ones fit the 4 MiB batch body limit. */
export const SEED_BATCH = 1000;

/** What the driver needs to attack one gateway; sent over IPC with the `attack` message. */
export interface HostileConfig {
  readonly url: string;
  readonly attacks: readonly Attack[];
  /** The key of the project holding the wide instances (explain). */
  readonly wideKey: string;
  /** The key of the project the batches churn (registered, registered again, deleted). */
  readonly batchKey: string;
  readonly explainConnections: number;
  readonly batchSize: number;
  readonly loginConnections: number;
  /** Usernames tried: the real admin's, its case variants, and unknown ones. */
  readonly usernames: readonly string[];
  /** Share of login attempts sent with a fresh `X-Forwarded-For` address (a botnet behind the proxy). */
  readonly spoofShare: number;
  /** Scrape loops: half of them with the metrics token, half without. */
  readonly scrapers: number;
  readonly metricsToken: string;
}

/** What one stream of the attack got during the measured window. */
export interface StreamFigures {
  readonly name: string;
  readonly attack: Attack;
  readonly connections: number;
  readonly responses: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Mean response body size, bytes. */
  readonly meanBytes: number;
  /** By `<status> <error code>` (`200` for successes), e.g. `429 LOGIN_THROTTLED (hash queue full)`. */
  readonly statusMix: Record<string, number>;
  /** Socket errors and timeouts (autocannon's reqError). */
  readonly errors: number;
}

/** The driver's report: per stream, and the CPU the driver itself used (% of one core). */
export interface HostileFigures {
  readonly windowS: number;
  readonly driverCpuPct: number;
  readonly streams: readonly StreamFigures[];
}

/** IPC messages: parent → driver, then driver → parent. */
export type ToDriver =
  | { readonly type: 'attack'; readonly config: HostileConfig }
  | { readonly type: 'measure' }
  | { readonly type: 'stop' };
export type FromDriver =
  | { readonly type: 'ready'; readonly late: readonly string[] }
  | { readonly type: 'figures'; readonly figures: HostileFigures };

/** One thin instance of the wide project: with 5000 of them under one identifier, a select weighs 5000 candidates. */
export function wideInstance(n: number): Record<string, unknown> {
  return {
    apiIdentifier: WIDE_IDENTIFIER,
    apiType: API_TYPE,
    businessId: `wide-${n}`,
    routingParams: { weight: 1 + (n % 7), costPerUnit: 0.001 * (1 + (n % 5)) },
    metadata: { region: `r-${n % 12}`, shard: n },
  };
}

/**
 * A fat-ish instance for the batch attack, ~2 KB of JSON: 30 metadata keys, a long description,
 * nested tags — within every per-object limit (128 keys, depth 8, 16 KiB), so the gateway must
 * accept and store it. 1000 of them make a ~2 MB body, under the 4 MiB batch body limit.
 */
export function fatInstance(n: number): Record<string, unknown> {
  const extra: Record<string, string> = {};
  for (let k = 0; k < 30; k++) extra[`attribute_${k}`] = `value-${n}-${k}-${'x'.repeat(20)}`;
  return {
    apiIdentifier: `churn-${n % 10}`,
    apiType: API_TYPE,
    businessId: `churn-${n}`,
    routingParams: { weight: 1, priority: n % 3, timeoutMs: 30_000, costPerUnit: 0.002, rpmLimit: 600 },
    metadata: {
      description: `instance ${n}: ${'lorem ipsum dolor sit amet '.repeat(12)}`,
      tags: { team: `team-${n % 17}`, env: 'prod', labels: [`a-${n}`, `b-${n}`, `c-${n}`] },
      ...extra,
    },
  };
}

/** Login attempts to make a brute-force look real: the admin (and its case/space variants) and names that do not exist. */
export function loginUsernames(admin: string): string[] {
  return [admin, admin.toUpperCase(), ` ${admin} `, 'root', 'administrator', 'operator', 'nobody-1', 'nobody-2'];
}

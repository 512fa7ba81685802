/**
 * LiteLLM's `Router` with its default settings, as a policy: its deployment cool-down rules
 * reimplemented, its default `simple-shuffle` routing, and its `fallbacks` (the next model group
 * once every deployment of a group is cooling down) modelled by the tiers like the other baselines.
 *
 * Source: BerriAI/litellm main after PR #17464 (merged 2025-12-04: the minimum-requests rule;
 * pyproject.toml said 1.80.x just before it) —
 * - litellm/router_utils/cooldown_handlers.py: `_is_cooldown_required`, `_should_run_cooldown_logic`,
 *   `_should_cooldown_deployment`, `should_cooldown_based_on_allowed_fails_policy`,
 *   `_is_allowed_fails_set_on_router`;
 * - litellm/constants.py: DEFAULT_COOLDOWN_TIME_SECONDS 5, DEFAULT_FAILURE_THRESHOLD_PERCENT 0.5,
 *   DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS 5, SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD 1000,
 *   DEFAULT_ALLOWED_FAILS 3;
 * - litellm/router_utils/router_callbacks/track_deployment_metrics.py: per-deployment success and
 *   failure counters, each a cache key with a 60 s TTL; litellm/caching/in_memory_cache.py sets the
 *   TTL when the key is created and does not renew it on increments (`allow_ttl_override`), so
 *   "this minute" is a 60 s window opened by the first count, one per counter;
 * - litellm/router_utils/cooldown_cache.py: a cool-down is a key whose TTL is the cool-down time,
 *   not extended while it lasts; the failure callback takes that time from the answer's
 *   Retry-After when it has one, else from the router's `cooldown_time`;
 * - docs: https://docs.litellm.ai/docs/routing (Cooldowns) and
 *   https://docs.litellm.ai/docs/router/learn/reliability.
 *
 * The rules, on each failed call of a deployment:
 * 1. its failure counter for this minute goes up (any failure; each success raises the other);
 * 2. no cool-down for connection errors — LiteLLM raises `APIConnectionError` for refused and reset
 *    connections and skips any exception whose text holds that name (PR #27610, which would have
 *    changed it, was closed) — nor for a 4xx other than 401, 404, 408 and 429; 5xx and timeouts
 *    (`Timeout`, 408) go on;
 * 3. cool down on a 429 unless the deployment is alone in its model group; on 100 % failures over
 *    ≥ 1000 calls this minute; on failures > 50 % of this minute's calls with ≥ 5 calls, unless
 *    alone in its group; or on a status LiteLLM would not retry (401, 404);
 * 4. for the Retry-After seconds, else `cooldown_time` (5 s); a zero time means no cool-down.
 * With the defaults (`allowed_fails` unset or 3, no `allowed_fails_policy`) the allowed-fails
 * count is not consulted: the failure rate above decides.
 *
 * Routing: uniformly random among the deployments not cooling down (weight-proportional when
 * `routingParams.weight` is set), seeded; `routingParams.priority` plays LiteLLM's `order`. The
 * router makes the calls itself, so it learns from every one whatever the caller reports.
 */
import { mulberry32 } from '../../test/utils/mulberry32';
import { tiers } from './baselines';
import type { Choice, Policy } from './baselines';
import type { Attempt, BackendSpec, Outcome, Scenario } from './types';

export const LITELLM_COOLDOWN_TIME_MS = 5_000;
export const LITELLM_FAILURE_THRESHOLD = 0.5;
export const LITELLM_MINIMUM_REQUESTS = 5;
export const LITELLM_SINGLE_DEPLOYMENT_TRAFFIC = 1000;
const WINDOW_MS = 60_000;

export interface LiteLlmOptions {
  /** Seeds simple-shuffle's draws (default 1). */
  readonly seed?: number;
  /** The router's `cooldown_time`, ms (default 5 s). */
  readonly cooldownTimeMs?: number;
}

/** A cache counter with a 60 s TTL set by its first increment and kept by the next ones. */
class MinuteCounter {
  private count = 0;
  private expiresAt = Number.NEGATIVE_INFINITY;

  add(atMs: number): void {
    if (atMs > this.expiresAt) {
      this.count = 0;
      this.expiresAt = atMs + WINDOW_MS;
    }
    this.count++;
  }

  value(atMs: number): number {
    return atMs > this.expiresAt ? 0 : this.count;
  }
}

/** The status LiteLLM's exception carries; `undefined` for a connection error. */
function statusOf(outcome: Outcome): number | undefined {
  switch (outcome) {
    case 'ok':
      return 200;
    case 'server-error':
      return 500;
    case 'client-error':
      return 400;
    case 'rate-limited':
      return 429;
    case 'timeout':
      return 408;
    case 'refused':
    case 'reset':
      return undefined;
  }
}

function cooldownRequired(status: number | undefined): boolean {
  if (status === undefined) return false;
  if (status >= 400 && status < 500) return [401, 404, 408, 429].includes(status);
  return true;
}

/** `litellm._should_retry`. */
const retryable = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;

const weightOf = (spec: BackendSpec): number => {
  const weight = Number(spec.routingParams?.weight);
  return Number.isFinite(weight) && weight > 0 ? weight : 1;
};

export function litellm(scenario: Scenario, options: LiteLlmOptions = {}): Policy {
  const random = mulberry32(options.seed ?? 1);
  const cooldownTimeMs = options.cooldownTimeMs ?? LITELLM_COOLDOWN_TIME_MS;
  const groups = tiers(scenario);
  const groupSize = (businessId: string): number => {
    const identifier = scenario.backends.find((b) => b.businessId === businessId)?.apiIdentifier;
    return scenario.backends.filter((b) => b.apiIdentifier === identifier).length;
  };
  const successes = new Map<string, MinuteCounter>();
  const failures = new Map<string, MinuteCounter>();
  const coolingUntil = new Map<string, number>();
  let cooldowns = 0;
  const counter = (counters: Map<string, MinuteCounter>, businessId: string): MinuteCounter => {
    let c = counters.get(businessId);
    if (!c) counters.set(businessId, (c = new MinuteCounter()));
    return c;
  };
  const cooling = (businessId: string, atMs: number): boolean => atMs <= (coolingUntil.get(businessId) ?? -1);

  const shouldCoolDown = (businessId: string, status: number, atMs: number): boolean => {
    const alone = groupSize(businessId) === 1;
    const fails = counter(failures, businessId).value(atMs);
    const total = fails + counter(successes, businessId).value(atMs);
    const share = total > 0 ? fails / total : 0;
    if (status === 429 && !alone) return true;
    if (share === 1 && total >= LITELLM_SINGLE_DEPLOYMENT_TRAFFIC) return true;
    if (share > LITELLM_FAILURE_THRESHOLD && total >= LITELLM_MINIMUM_REQUESTS && !alone) return true;
    return !retryable(status);
  };

  const pick = (candidates: readonly BackendSpec[]): BackendSpec => {
    const weights = candidates.map(weightOf);
    let u = random() * weights.reduce((a, b) => a + b, 0);
    for (const [i, w] of weights.entries()) {
      if (u < w) return candidates[i];
      u -= w;
    }
    return candidates[candidates.length - 1];
  };

  return {
    name: 'litellm',
    choose(nowMs, excluded: readonly Choice[]) {
      const group = groups
        .map((g) =>
          g.filter((b) => !cooling(b.businessId, nowMs) && !excluded.some((e) => e.businessId === b.businessId)),
        )
        .find((g) => g.length > 0);
      return Promise.resolve(group ? { businessId: pick(group).businessId } : undefined);
    },
    learn(choice, attempt: Attempt) {
      const at = attempt.atMs + attempt.durationMs;
      const id = choice.businessId;
      if (attempt.outcome === 'ok') {
        counter(successes, id).add(at);
        return Promise.resolve();
      }
      counter(failures, id).add(at);
      const status = statusOf(attempt.outcome);
      const forMs = attempt.retryAfterMs ?? cooldownTimeMs;
      if (status === undefined || !cooldownRequired(status) || forMs <= 0 || cooling(id, at)) return Promise.resolve();
      if (shouldCoolDown(id, status, at)) {
        coolingUntil.set(id, at + forMs);
        cooldowns++;
      }
      return Promise.resolve();
    },
    ejections: () => Promise.resolve(cooldowns),
  };
}

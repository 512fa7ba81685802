import type { BreakerSettings } from '../tenancy/project-settings';

/** A breaker's effective thresholds, in milliseconds and percent (docs/resilience.md §2). */
export interface BreakerConfig {
  readonly consecutiveFailures: number;
  /** Consecutive failures that never reached the backend (refused, unknown host) that trip it. */
  readonly consecutiveUnreachable: number;
  readonly failureRatePercent: number;
  readonly minimumCalls: number;
  readonly windowMs: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly halfOpenProbes: number;
  /** A call at least this slow is slow; the slow-call rule is off when undefined. */
  readonly slowCallMs: number | undefined;
  readonly slowCallRatePercent: number;
  /** AUTH_ERROR opens the breaker this long at once (a configuration problem, not a blip). */
  readonly authOpenMs: number;
}

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = Object.freeze({
  consecutiveFailures: 5,
  consecutiveUnreachable: 2,
  failureRatePercent: 50,
  minimumCalls: 10,
  windowMs: 60_000,
  openMs: 30_000,
  maxOpenMs: 300_000,
  halfOpenProbes: 3,
  slowCallMs: undefined,
  slowCallRatePercent: 80,
  authOpenMs: 300_000,
});

/**
 * Gateway defaults, overridden by the project's settings, overridden by the instance's
 * `routingParams.breaker` (and its `slowCallMs`). Both inputs were validated when written.
 */
export function resolveBreakerConfig(
  project: BreakerSettings | undefined,
  instance: BreakerSettings | undefined,
  instanceSlowCallMs: number | undefined,
): BreakerConfig {
  const pick = <K extends keyof BreakerSettings>(key: K): BreakerSettings[K] => instance?.[key] ?? project?.[key];
  const seconds = (value: number | undefined, fallbackMs: number): number =>
    value === undefined ? fallbackMs : value * 1000;
  const maxOpenMs = seconds(pick('maxOpenSeconds'), DEFAULT_BREAKER_CONFIG.maxOpenMs);
  return {
    consecutiveFailures: pick('consecutiveFailures') ?? DEFAULT_BREAKER_CONFIG.consecutiveFailures,
    consecutiveUnreachable: pick('consecutiveUnreachable') ?? DEFAULT_BREAKER_CONFIG.consecutiveUnreachable,
    failureRatePercent: pick('failureRateThreshold') ?? DEFAULT_BREAKER_CONFIG.failureRatePercent,
    minimumCalls: pick('minimumCalls') ?? DEFAULT_BREAKER_CONFIG.minimumCalls,
    windowMs: seconds(pick('windowSeconds'), DEFAULT_BREAKER_CONFIG.windowMs),
    openMs: Math.min(maxOpenMs, seconds(pick('openSeconds'), DEFAULT_BREAKER_CONFIG.openMs)),
    maxOpenMs,
    halfOpenProbes: pick('halfOpenProbes') ?? DEFAULT_BREAKER_CONFIG.halfOpenProbes,
    slowCallMs: instanceSlowCallMs ?? pick('slowCallMs'),
    slowCallRatePercent: pick('slowCallRateThreshold') ?? DEFAULT_BREAKER_CONFIG.slowCallRatePercent,
    authOpenMs: maxOpenMs,
  };
}

const NO_SETTINGS: BreakerSettings = Object.freeze({});

/**
 * Resolved configs memoised by the identity of their inputs: project settings and instance
 * records are replaced, never mutated, on change, so a lookup is two WeakMap hits on the hot path.
 */
export class BreakerConfigCache {
  private readonly byProject = new WeakMap<object, WeakMap<object, BreakerConfig>>();

  for(project: BreakerSettings | undefined, routingParams: Readonly<Record<string, unknown>>): BreakerConfig {
    const projectKey = project ?? NO_SETTINGS;
    let byParams = this.byProject.get(projectKey);
    if (byParams === undefined) this.byProject.set(projectKey, (byParams = new WeakMap()));
    let config = byParams.get(routingParams);
    if (config === undefined) {
      const instance = routingParams.breaker as BreakerSettings | undefined;
      const slowCallMs = typeof routingParams.slowCallMs === 'number' ? routingParams.slowCallMs : undefined;
      config = resolveBreakerConfig(project, instance, slowCallMs);
      byParams.set(routingParams, config);
    }
    return config;
  }
}

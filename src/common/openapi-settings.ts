import type { OpenAPIObject } from '@nestjs/swagger';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const int = (minimum: number, maximum: number | undefined, description: string): Schema => ({
  type: 'integer',
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
  description,
});
const nonNegative = (description: string): Schema => ({ type: 'number', minimum: 0, description });

/** The configured bounds the settings schemas state (`config.limits`). */
export interface SettingsBounds {
  /** `GATEWAY_MAX_LEASE_TTL_MS`: bound of `quotas.leaseTtlMs` and `routingParams.timeoutMs`. */
  readonly maxLeaseTtlMs: number;
}

/**
 * Per-instance (`routingParams.breaker`) and per-project (`settings.breaker`) breaker settings,
 * as `BreakerSettings` in `tenancy/project-settings.ts` validates them (a spec compares the two).
 */
const BREAKER_SETTINGS: Schema = {
  type: 'object',
  description: 'Circuit-breaker thresholds; each unset one falls back to the project, then the gateway default.',
  properties: {
    consecutiveFailures: int(1, 1000, 'Trip after this many consecutive failures (default 5).'),
    consecutiveUnreachable: int(
      1,
      1000,
      'Trip after this many consecutive calls that never reached the backend: connection refused, host unknown or unreachable (default 2).',
    ),
    failureRateThreshold: int(1, 100, 'Trip when the failure rate in the window reaches this percentage (default 50).'),
    minimumCalls: int(1, 100000, 'Calls needed in the window before the failure rate counts (default 10).'),
    windowSeconds: int(1, 3600, 'Length of the sliding window, seconds (default 60).'),
    openSeconds: int(1, 3600, 'Open time of the first trip, seconds, multiplied by consecutive trips (default 30).'),
    maxOpenSeconds: int(1, 86400, 'Cap of the open time, seconds (default 300).'),
    halfOpenProbes: int(1, 100, 'Concurrent probe calls admitted while half-open (default 3).'),
    slowCallMs: int(1, 3600000, 'A call at least this slow is slow; the slow-call rule is off when unset.'),
    slowCallRateThreshold: int(1, 100, 'Trip when this percentage of calls in the window is slow (default 80).'),
  },
  example: { consecutiveFailures: 3, openSeconds: 20 },
};

const quotaSettings = (bounds: SettingsBounds): Schema => ({
  type: 'object',
  description: 'Capacity defaults of a project.',
  properties: {
    leaseTtlMs: int(
      1000,
      bounds.maxLeaseTtlMs,
      'How long an unreported selection holds capacity, ms (at most `GATEWAY_MAX_LEASE_TTL_MS`).',
    ),
    rateLimitCooldownMs: int(0, 3600000, 'Cool-down after a RATE_LIMITED report without Retry-After, ms.'),
    maxRateLimitCooldownMs: int(0, 3600000, 'Longest cool-down a RATE_LIMITED report can cause, ms.'),
  },
});

const projectSettings: Schema = {
  type: 'object',
  description: "A project's settings; every field is optional: unset means the gateway default.",
  properties: {
    defaultStrategy: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,63}$',
      description: 'Strategy used when a select request names none (`smart` when unset).',
      example: 'smart',
    },
    whenAllUnavailable: {
      type: 'string',
      enum: ['fail', 'least-bad'],
      description:
        '`fail` (default): answer NO_HEALTHY_INSTANCE; `least-bad`: return the least-bad instance, degraded.',
    },
    breaker: ref('BreakerSettings'),
    quotas: ref('QuotaSettings'),
    affinityTtlSeconds: int(1, 86400, 'Lifetime of an affinity binding, seconds (refreshed on use).'),
  },
};

/**
 * The routing parameters the gateway reads, as `checkInstanceJson` in `registry/routing-params.ts`
 * checks them (a spec compares the two); any other key is kept as given.
 */
const routingParams = (bounds: SettingsBounds): Schema => ({
  type: 'object',
  description:
    'Routing parameters: the known keys are typed and checked, any other key is kept as given (at most 16 KiB of JSON). ' +
    'Of an alias pair, the camelCase key wins when both are given.',
  properties: {
    priority: int(
      -1000,
      1000,
      'Priority tier: the highest tier with a selectable instance is chosen from (default 0).',
    ),
    weight: nonNegative('Weight of `weighted-random` (default 1; 0: never, unless all are 0).'),
    initial_weight: nonNegative('Alias of `weight`.'),
    costPerUnit: nonNegative(
      "Price of one token (the unit of `usageMetrics.totalTokens`), in the project's currency: ranks instances for " +
        '`lowest-cost` and `smart`, and prices calls that report tokens but no cost (unset: the most expensive).',
    ),
    cost_per_unit: nonNegative('Alias of `costPerUnit`.'),
    rpmLimit: int(1, Number.MAX_SAFE_INTEGER, 'Selections of the instance per rolling minute.'),
    tpmLimit: int(1, Number.MAX_SAFE_INTEGER, 'Tokens (estimated, then reported) per rolling minute.'),
    maxConcurrency: int(1, Number.MAX_SAFE_INTEGER, 'Open leases (selected, not yet reported) at once.'),
    timeoutMs: int(
      1,
      bounds.maxLeaseTtlMs,
      "The caller's timeout, ms: an unreported selection holds capacity this long plus 5 s.",
    ),
    slowCallMs: int(1, 3600000, 'A call at least this slow is slow (sets `breaker.slowCallMs` of this instance).'),
    breaker: ref('BreakerSettings'),
  },
  additionalProperties: true,
  example: { priority: 1, weight: 10, costPerUnit: 0.002, rpmLimit: 600, maxConcurrency: 20, timeoutMs: 30000 },
});

type SchemaNode = Record<string, unknown>;

/** Replaces every property named `routingParams` by a reference to `RoutingParams`, keeping its description and nullability. */
function referenceRoutingParams(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(referenceRoutingParams);
  if (node === null || typeof node !== 'object') return;
  const properties = (node as SchemaNode).properties as Record<string, SchemaNode> | undefined;
  const own = properties?.routingParams;
  if (own !== undefined && own.$ref === undefined && own.allOf === undefined) {
    properties!.routingParams = {
      ...(typeof own.description === 'string' ? { description: own.description } : {}),
      ...(own.nullable === true ? { nullable: true } : {}),
      allOf: [ref('RoutingParams')],
    };
  }
  for (const child of Object.values(node)) referenceRoutingParams(child);
}

/**
 * Types what the decorators leave loose: `RoutingParams` (known keys typed and bounded, others
 * allowed) referenced by every `routingParams` property, `BreakerSettings`, and the project's
 * `ProjectSettings` / `QuotaSettings` (the swagger plugin does not read `project-settings.ts`, so
 * an empty `ProjectSettings` is filled in; one that has properties is left alone).
 */
export function typeSettings(document: OpenAPIObject, bounds: SettingsBounds): void {
  const schemas = ((document.components ??= {}).schemas ??= {});
  referenceRoutingParams(document.paths);
  referenceRoutingParams(schemas);
  schemas.RoutingParams = routingParams(bounds);
  schemas.BreakerSettings = BREAKER_SETTINGS;
  const existing = schemas.ProjectSettings as SchemaNode | undefined;
  if (existing === undefined || Object.keys((existing.properties as object | undefined) ?? {}).length === 0) {
    schemas.ProjectSettings = projectSettings;
    schemas.QuotaSettings = quotaSettings(bounds);
  }
}

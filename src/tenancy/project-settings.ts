import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import type { FieldError } from '../common/gateway-error';
import type { LimitsConfig } from '../config/app-config';

export const WHEN_ALL_UNAVAILABLE = ['fail', 'least-bad'] as const;
export type WhenAllUnavailable = (typeof WHEN_ALL_UNAVAILABLE)[number];

/** Circuit-breaker defaults of a project (docs/resilience.md §2); instances may override them. */
export class BreakerSettings {
  /** Trip after this many consecutive failures. */
  @IsOptional() @IsInt() @Min(1) @Max(1000) consecutiveFailures?: number;
  /**
   * Trip after this many consecutive failures that never reached the backend (connection refused,
   * host unknown or unreachable): stronger evidence than an error answer.
   */
  @IsOptional() @IsInt() @Min(1) @Max(1000) consecutiveUnreachable?: number;
  /** Trip when the failure rate in the window reaches this percentage. */
  @IsOptional() @IsInt() @Min(1) @Max(100) failureRateThreshold?: number;
  /** Calls needed in the window before the failure rate counts. */
  @IsOptional() @IsInt() @Min(1) @Max(100000) minimumCalls?: number;
  /** Length of the sliding window, seconds. */
  @IsOptional() @IsInt() @Min(1) @Max(3600) windowSeconds?: number;
  /** Open time of the first trip, seconds (multiplied by consecutive trips). */
  @IsOptional() @IsInt() @Min(1) @Max(3600) openSeconds?: number;
  /** Cap of the open time, seconds. */
  @IsOptional() @IsInt() @Min(1) @Max(86400) maxOpenSeconds?: number;
  /** Concurrent probe calls admitted while half-open. */
  @IsOptional() @IsInt() @Min(1) @Max(100) halfOpenProbes?: number;
  /** A call slower than this counts as slow (slow-call rule off when unset). */
  @IsOptional() @IsInt() @Min(1) @Max(3600000) slowCallMs?: number;
  /** Trip when this percentage of calls in the window is slow. */
  @IsOptional() @IsInt() @Min(1) @Max(100) slowCallRateThreshold?: number;
}

/** Capacity defaults of a project (docs/resilience.md §3–4). */
export class QuotaSettings {
  /**
   * How long an unreported selection holds capacity, ms; at most `GATEWAY_MAX_LEASE_TTL_MS`
   * (900000 by default; the bound is the operator's, so {@link checkSettingsLimits} checks it, and
   * a value stored before it existed is clamped at use).
   */
  @IsOptional() @IsInt() @Min(1000) leaseTtlMs?: number;
  /** Cool-down after a RATE_LIMITED report without Retry-After, ms. */
  @IsOptional() @IsInt() @Min(0) @Max(3600000) rateLimitCooldownMs?: number;
  /** Longest cool-down a RATE_LIMITED report can cause, ms. */
  @IsOptional() @IsInt() @Min(0) @Max(3600000) maxRateLimitCooldownMs?: number;
}

/** A project's settings. Every field is optional: unset means the gateway default. */
export class ProjectSettings {
  /** Strategy used when a select request names none (`smart` when unset). */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'defaultStrategy must be a strategy name such as smart' })
  defaultStrategy?: string;

  /** `fail` (default): answer NO_HEALTHY_INSTANCE; `least-bad`: return the least-bad instance, degraded. */
  @IsOptional() @IsIn(WHEN_ALL_UNAVAILABLE) whenAllUnavailable?: WhenAllUnavailable;

  @IsOptional() @ValidateNested() @Type(() => BreakerSettings) breaker?: BreakerSettings;

  @IsOptional() @ValidateNested() @Type(() => QuotaSettings) quotas?: QuotaSettings;

  /** Lifetime of an affinity binding, seconds (refreshed on use). */
  @IsOptional() @IsInt() @Min(1) @Max(86400) affinityTtlSeconds?: number;
}

/** The configured bounds settings are checked against (`config.limits`); the decorators hold the fixed ones. */
export type SettingsLimits = Pick<LimitsConfig, 'maxLeaseTtlMs'>;

/**
 * Field errors of settings (a patch, or a new project's) against the configured limits, each
 * naming the field under `path` and the bound: the decorators are static, these bounds are the
 * operator's. Run after the decorators' validation, on the fields given.
 *
 * @example
 * checkSettingsLimits({ quotas: { leaseTtlMs: 3_600_000 } }, config.limits, 'settings');
 * // [{ field: 'settings.quotas.leaseTtlMs', message: 'quotas.leaseTtlMs must not be greater than 900000 …' }]
 */
export function checkSettingsLimits(
  settings: ProjectSettings | undefined,
  limits: SettingsLimits,
  path = '',
): FieldError[] {
  const leaseTtlMs = settings?.quotas?.leaseTtlMs;
  if (leaseTtlMs === undefined || leaseTtlMs <= limits.maxLeaseTtlMs) return [];
  return [
    {
      field: path ? `${path}.quotas.leaseTtlMs` : 'quotas.leaseTtlMs',
      message: `quotas.leaseTtlMs must not be greater than ${limits.maxLeaseTtlMs} (GATEWAY_MAX_LEASE_TTL_MS)`,
    },
  ];
}

/** Merges a settings patch: given top-level fields replace, nested groups merge field by field. */
export function mergeSettings(current: ProjectSettings, patch: ProjectSettings): ProjectSettings {
  const merged: ProjectSettings = { ...current, ...defined(patch) };
  if (patch.breaker) merged.breaker = { ...current.breaker, ...defined(patch.breaker) };
  if (patch.quotas) merged.quotas = { ...current.quotas, ...defined(patch.quotas) };
  return JSON.parse(JSON.stringify(merged)) as ProjectSettings;
}

/** The fields that were given (a DTO instance may carry declared-but-unset ones). */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

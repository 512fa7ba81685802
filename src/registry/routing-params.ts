import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { FieldError } from '../common/gateway-error';
import type { LimitsConfig } from '../config/app-config';
import { flattenValidationErrors } from '../common/validation';
import { BreakerSettings } from '../tenancy/project-settings';

type Rule = (value: unknown) => string | undefined;

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
      ? undefined
      : `must be an integer between ${min} and ${max}`;

const nonNegative: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : 'must be a number ≥ 0';

/** The configured bounds the instance JSON is checked against (`config.limits`). */
export type InstanceJsonLimits = Pick<LimitsConfig, 'maxLeaseTtlMs'>;

/**
 * The routing parameters the gateway understands; any other key is kept as given. `timeoutMs`
 * sets how long an unreported selection holds capacity, so its bound is the configured
 * `GATEWAY_MAX_LEASE_TTL_MS`.
 */
const rulesOf = (limits: InstanceJsonLimits): Readonly<Record<string, Rule>> => ({
  priority: int(-1000, 1000),
  weight: nonNegative,
  initial_weight: nonNegative,
  costPerUnit: nonNegative,
  cost_per_unit: nonNegative,
  rpmLimit: int(1),
  tpmLimit: int(1),
  maxConcurrency: int(1),
  timeoutMs: int(1, limits.maxLeaseTtlMs),
  slowCallMs: int(1, 3_600_000),
});

export const MAX_JSON_BYTES = 16 * 1024;

/**
 * Field errors of an instance's `routingParams` and `metadata`, each with its full path
 * (`instances.3.routingParams.weight`). Known keys are typed and range-checked; per-instance
 * breaker overrides (`breaker`) follow the project settings' rules.
 */
export function checkInstanceJson(
  input: { routingParams?: unknown; metadata?: unknown },
  path: string,
  limits: InstanceJsonLimits,
): FieldError[] {
  const at = (field: string): string => (path ? `${path}.${field}` : field);
  const errors: FieldError[] = [];
  const params = input.routingParams;
  if (params !== undefined && params !== null) {
    if (!isPlainObject(params)) return [{ field: at('routingParams'), message: 'routingParams must be an object' }];
    for (const [key, rule] of Object.entries(rulesOf(limits))) {
      if (!(key in params)) continue;
      const problem = rule(params[key]);
      if (problem) errors.push({ field: at(`routingParams.${key}`), message: `routingParams.${key} ${problem}` });
    }
    errors.push(...checkBreaker(params.breaker, at('routingParams.breaker')));
    if (byteSize(params) > MAX_JSON_BYTES) {
      errors.push({
        field: at('routingParams'),
        message: `routingParams must be at most ${MAX_JSON_BYTES} bytes of JSON`,
      });
    }
  }
  const metadata = input.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) errors.push({ field: at('metadata'), message: 'metadata must be an object' });
    else if (byteSize(metadata) > MAX_JSON_BYTES) {
      errors.push({ field: at('metadata'), message: `metadata must be at most ${MAX_JSON_BYTES} bytes of JSON` });
    }
  }
  return errors;
}

function checkBreaker(value: unknown, field: string): FieldError[] {
  if (value === undefined) return [];
  if (!isPlainObject(value)) return [{ field, message: 'routingParams.breaker must be an object' }];
  const errors = validateSync(plainToInstance(BreakerSettings, value), { forbidUnknownValues: false });
  return flattenValidationErrors(errors, field);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Typed read of the known routing parameters, aliases resolved (for strategies and quotas). */
export interface RoutingParams {
  readonly priority: number;
  readonly weight: number | undefined;
  readonly costPerUnit: number | undefined;
  readonly rpmLimit: number | undefined;
  readonly tpmLimit: number | undefined;
  readonly maxConcurrency: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly slowCallMs: number | undefined;
}

export function readRoutingParams(params: Readonly<Record<string, unknown>>): RoutingParams {
  const num = (key: string): number | undefined => (typeof params[key] === 'number' ? params[key] : undefined);
  return {
    priority: num('priority') ?? 0,
    weight: num('weight') ?? num('initial_weight'),
    costPerUnit: num('costPerUnit') ?? num('cost_per_unit'),
    rpmLimit: num('rpmLimit'),
    tpmLimit: num('tpmLimit'),
    maxConcurrency: num('maxConcurrency'),
    timeoutMs: num('timeoutMs'),
    slowCallMs: num('slowCallMs'),
  };
}

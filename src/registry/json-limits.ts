import type { FieldError } from '../common/gateway-error';
import type { LimitsConfig } from '../config/app-config';

/** The shape bounds of an instance's free JSON (`config.limits`). */
export type JsonShapeLimits = Pick<LimitsConfig, 'jsonKeysPerObject' | 'jsonDepth'>;

/** The free-form JSON fields of an instance, checked for their shape. */
const SHAPED_FIELDS = ['metadata', 'routingParams'] as const;

/**
 * Field errors for `metadata` and `routingParams` objects with more keys than
 * `GATEWAY_MAX_JSON_KEYS` (at any depth) or nested deeper than `GATEWAY_MAX_JSON_DEPTH` (the
 * field's own object is level 1, an array is a level like an object). Each error names the path
 * of the object at fault (`instances.3.metadata.a.b`); nothing below a faulty object is walked,
 * so the walk never goes deeper than the limit.
 *
 * @example
 * checkJsonShape({ metadata: { a: wideObject } }, 'instances.3', limits);
 * // [{ field: 'instances.3.metadata.a', message: 'instances.3.metadata.a has 129 keys; at most 128 are allowed' }]
 */
export function checkJsonShape(
  input: { routingParams?: unknown; metadata?: unknown },
  path: string,
  limits: JsonShapeLimits,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of SHAPED_FIELDS) {
    const value = input[field];
    if (typeof value === 'object' && value !== null) walk(value, path ? `${path}.${field}` : field, 1, limits, errors);
  }
  return errors;
}

function walk(value: object, field: string, depth: number, limits: JsonShapeLimits, errors: FieldError[]): void {
  if (depth > limits.jsonDepth) {
    errors.push({ field, message: `${field} is nested ${depth} levels deep; at most ${limits.jsonDepth} are allowed` });
    return;
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? (value as unknown[]).map((item, i) => [String(i), item])
    : Object.entries(value);
  if (!Array.isArray(value) && entries.length > limits.jsonKeysPerObject) {
    errors.push({
      field,
      message: `${field} has ${entries.length} keys; at most ${limits.jsonKeysPerObject} are allowed`,
    });
    return;
  }
  for (const [key, child] of entries) {
    if (typeof child === 'object' && child !== null) walk(child, `${field}.${key}`, depth + 1, limits, errors);
  }
}

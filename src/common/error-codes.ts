/**
 * Every stable machine code the gateway answers with, and its HTTP status. This table is the
 * one place where domain errors meet HTTP: services throw `GatewayError(code)`, the exception
 * filter looks the status up here.
 */
export const ERROR_STATUS = {
  // framework and input
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // authentication and authorisation
  API_KEY_MISSING: 401,
  INVALID_API_KEY: 401,
  API_KEY_REVOKED: 401,
  API_KEY_EXPIRED: 401,
  API_KEY_NOT_BOUND: 403,
  PROJECT_INACTIVE: 403,
  INSUFFICIENT_SCOPE: 403,
  ADMIN_TOKEN_MISSING: 401,
  INVALID_ADMIN_TOKEN: 401,
  METRICS_TOKEN_MISSING: 401,
  INVALID_METRICS_TOKEN: 401,
  ADMIN_ROLE_REQUIRED: 403,
  INVALID_CREDENTIALS: 401,
  LOGIN_THROTTLED: 429,
  // tenancy
  PROJECT_NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  // registry
  INSTANCE_NOT_FOUND: 404,
  // selection
  NO_AVAILABLE_INSTANCE: 400,
  NO_HEALTHY_INSTANCE: 400,
  FALLBACK_EXHAUSTED: 400,
  AFFINITY_UNAVAILABLE: 400,
  UNKNOWN_STRATEGY: 400,
  QUOTA_EXHAUSTED: 429,
  // generic domain
  NOT_FOUND: 404,
  CONFLICT: 409,
  THROTTLED: 429,
  NOT_READY: 503,
  INTERNAL_ERROR: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

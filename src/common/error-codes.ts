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

import { HttpException, HttpStatus } from '@nestjs/common';
import { type ErrorCode, statusOf } from './error-codes';
import type { FieldError } from './gateway-error';
import { GatewayError } from './gateway-error';

/** What an error becomes on the wire, before the request id and timestamp are added. */
export interface DescribedError {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: readonly FieldError[] | Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** True when the error is ours (a bug or an outage), so its stack must be logged. */
  readonly unexpected: boolean;
}

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_BAD_URL: 'INVALID_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

const STATUS_CODES: Readonly<Partial<Record<number, ErrorCode>>> = {
  [HttpStatus.BAD_REQUEST]: 'BAD_REQUEST',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'METHOD_NOT_ALLOWED',
  [HttpStatus.REQUEST_TIMEOUT]: 'REQUEST_TIMEOUT',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.URI_TOO_LONG]: 'URI_TOO_LONG',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'THROTTLED',
  431: 'HEADERS_TOO_LARGE',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'NOT_READY',
};

/**
 * Maps anything thrown while serving a request to the envelope's status, code and message.
 * Shared by the Nest exception filter and Fastify's own error handler (body parsing happens
 * before Nest sees the request).
 */
export function describeError(error: unknown): DescribedError {
  if (error instanceof GatewayError) {
    return {
      status: statusOf(error.code),
      code: error.code,
      message: error.message,
      details: error.details,
      headers: error.headers,
      unexpected: error.code === 'INTERNAL_ERROR',
    };
  }
  if (error instanceof HttpException) return describeHttpException(error);
  const fastifyCode = fastifyErrorCode(error);
  if (fastifyCode) {
    return { status: statusOf(fastifyCode), code: fastifyCode, message: messageOf(error), unexpected: false };
  }
  const status = clientStatusOf(error);
  if (status !== undefined) {
    // Any other 4xx of a library (another FST_ code among them) gets the stable code of its status:
    // the library's own code never reaches the client.
    return { status, code: STATUS_CODES[status] ?? 'BAD_REQUEST', message: messageOf(error), unexpected: false };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error', unexpected: true };
}

function describeHttpException(error: HttpException): DescribedError {
  const status = error.getStatus();
  const code = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
  const unexpected = status >= 500 && status !== 503;
  const message = unexpected ? 'Internal server error' : error.message;
  const response = error.getResponse();
  const details =
    typeof response === 'object' && response !== null && 'details' in response
      ? (response as { details: Record<string, unknown> }).details
      : undefined;
  return { status, code, message, details, unexpected };
}

function fastifyErrorCode(error: unknown): ErrorCode | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && code in FASTIFY_CODES) return FASTIFY_CODES[code];
  if (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400) return 'INVALID_JSON';
  return undefined;
}

/** A 4xx status carried by a library error (Fastify, ajv); 5xx ones stay unexpected. */
function clientStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { statusCode } = error as { statusCode?: unknown };
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

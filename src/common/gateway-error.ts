import { type ErrorCode, statusOf } from './error-codes';

/** One problem with one input field, as listed in an error envelope's `details`. */
export interface FieldError {
  /** Dotted path of the field at fault, e.g. `instances.3.apiType` or `routingParams.weight`. */
  readonly field: string;
  readonly message: string;
}

export interface GatewayErrorOptions {
  /** Field errors (validation) or a structured hint such as `{ retryAfterMs }`. */
  readonly details?: readonly FieldError[] | Readonly<Record<string, unknown>>;
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** `Error.stackTraceLimit` while a client fault is constructed (restored right after). */
let savedStackTraceLimit = Error.stackTraceLimit;

/**
 * A client fault (a 4xx: a refusal, a validation error) needs no stack: it is answered, never
 * logged with one, and capturing it was ~4 % of the CPU under a flood of refused requests
 * (`npm run bench:abuse`). Called for `super`'s argument, so the limit is 0 while V8 would capture.
 */
function withoutStackFor(code: ErrorCode, message: string): string {
  savedStackTraceLimit = Error.stackTraceLimit;
  if (statusOf(code) < 500) Error.stackTraceLimit = 0;
  return message;
}

/**
 * The only exception business code throws. The exception filter turns it into the error
 * envelope with the HTTP status of its code.
 *
 * @example
 * throw new GatewayError('NOT_FOUND', `Instance ${id} not found`);
 */
export class GatewayError extends Error {
  readonly details?: GatewayErrorOptions['details'];
  readonly headers?: GatewayErrorOptions['headers'];

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(withoutStackFor(code, message), options.cause === undefined ? undefined : { cause: options.cause });
    Error.stackTraceLimit = savedStackTraceLimit;
    this.name = 'GatewayError';
    this.details = options.details;
    this.headers = options.headers;
  }
}

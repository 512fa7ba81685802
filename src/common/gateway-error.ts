import type { ErrorCode } from './error-codes';

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
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.details = options.details;
    this.headers = options.headers;
  }
}

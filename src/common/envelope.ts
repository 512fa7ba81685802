import type { FieldError } from './gateway-error';

/** The success body of every route [compat]: HTTP 200 with `code: 200`. */
export interface SuccessEnvelope<T> {
  code: 200;
  message: string;
  data?: T;
  timestamp: number;
}

/** The error body of every route: HTTP status = `code`. */
export interface ErrorEnvelope {
  code: number;
  message: string;
  error: string;
  details?: readonly FieldError[] | Readonly<Record<string, unknown>>;
  requestId: string;
  timestamp: number;
}

export const SUCCESS_MESSAGE = 'success';

export function success<T>(data: T, now: number): SuccessEnvelope<T> {
  return data === undefined
    ? { code: 200, message: SUCCESS_MESSAGE, timestamp: now }
    : { code: 200, message: SUCCESS_MESSAGE, data, timestamp: now };
}

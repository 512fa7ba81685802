import { stdSerializers } from 'pino';

/** What a failed statement's error may show in a log: no parameters, no values quoted by the driver. */
export interface QueryErrorSummary {
  readonly type: string;
  /** The driver's code, e.g. `ER_DUP_ENTRY` or `SQLITE_CONSTRAINT_UNIQUE`. */
  readonly code?: string;
  /** The driver's message with every quoted value replaced by `'…'`. */
  readonly message: string;
}

/** Fields of TypeORM's and the drivers' errors that carry a statement's values. */
const VALUE_FIELDS = ['query', 'parameters', 'sql', 'sqlMessage', 'driverError', 'values'] as const;

/**
 * Whether `error` came from the database: TypeORM's `QueryFailedError` carries the statement and
 * its `parameters`, mysql2's errors their `sql` (values inlined) and `sqlMessage`.
 */
export function isQueryError(error: unknown): error is Error {
  return error instanceof Error && VALUE_FIELDS.some((field) => field in error);
}

/** `message` with every single-quoted value ("Duplicate entry 'alice@example.com' …") replaced by `'…'`, bounded. */
export function withoutQuotedValues(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.)*'/g, "'…'").slice(0, 500);
}

/**
 * The loggable part of a driver error: its type, code and message without quoted values. The
 * statement's `parameters`, the driver's `sql` and the value in a duplicate-key message are tenant
 * data (e-mail addresses, business ids, hashes) that do not belong in logs.
 */
export function describeQueryError(error: string | Error): QueryErrorSummary {
  if (typeof error === 'string') return { type: 'Error', message: withoutQuotedValues(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: withoutQuotedValues(error.message),
  };
}

/**
 * The logger's `err` serializer: pino's standard one, except that a database error loses the
 * fields holding the statement's values and the quoted values in its message and stack. Every
 * `logger.error({ err }, …)` goes through it, so no call site can forget.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error);
  if (!isQueryError(error)) return serialized;
  const safe: Record<string, unknown> = { ...serialized };
  for (const field of VALUE_FIELDS) delete safe[field];
  safe.message = withoutQuotedValues(serialized.message);
  if (typeof serialized.stack === 'string') safe.stack = serialized.stack.replace(/'(?:[^'\\\n]|\\.)*'/g, "'…'");
  return safe;
}

import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_STATUS, type ErrorCode } from './error-codes';
import { type DetailsShape, ERROR_DOCS } from './error-docs';

/**
 * Where `@ApiErrors()` leaves the codes it declares: on each error response of the operation,
 * read and removed by {@link documentErrors}.
 */
export const ERROR_CODES_EXTENSION = 'x-error-codes';

/**
 * Codes answered to malformed HTTP before any route is chosen (Node's parser, the framing of the
 * body): every operation may get them from a broken client, so the document lists them once, in
 * its description, instead of under every operation.
 */
export const HTTP_LEVEL_CODES: readonly ErrorCode[] = ['BAD_REQUEST', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE'];

/** Codes answered when no operation matches the request (no operation answers them). */
export const UNROUTED_CODES: readonly ErrorCode[] = ['ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED'];

/** What every error envelope holds, besides `error` and `details`. */
const ENVELOPE_FIELDS = ['code', 'message', 'error', 'requestId', 'timestamp'] as const;

/** The request id and time the examples show. */
const EXAMPLE_REQUEST_ID = '4f1c0c3e8b7d4a0e9c2b5d6e7f8a9b0c';
const EXAMPLE_TIMESTAMP = 1767225600000;

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const integer = (description: string, minimum = 0): Schema => ({ type: 'integer', minimum, description });

/** The schema of each details shape: a component of that name (except the field-error array). */
const DETAILS_SCHEMAS: Readonly<Record<Exclude<DetailsShape, 'FieldErrors'>, Schema>> = {
  RetryAfterDetails: {
    type: 'object',
    required: ['retryAfterMs'],
    properties: {
      retryAfterMs: integer('Wait at least this long before retrying (`Retry-After` says it in seconds).'),
    },
  },
  RateBudgetDetails: {
    type: 'object',
    required: ['limit', 'retryAfterMs'],
    properties: {
      limit: integer('The budget: instances written a minute, or candidates judged a second.', 1),
      retryAfterMs: integer('When the budget has room again.'),
    },
  },
  LeaseLimitDetails: {
    type: 'object',
    required: ['limit'],
    properties: {
      limit: integer('Open leases a project may hold on one node.', 1),
      retryAfterMs: integer('When its earliest lease expires, when known.'),
    },
  },
  RegistrationBusyDetails: {
    type: 'object',
    required: ['retryAfterMs'],
    properties: {
      retryAfterMs: integer('When a retry will probably find the way clear.'),
      waiting: integer('Registrations of the project already waiting on this node.'),
      limit: integer('Registrations of this kind that may wait.'),
      waitedMs: integer("How long this one waited for other nodes' registrations."),
    },
  },
  SelectionFailureDetails: {
    type: 'object',
    required: ['tried', 'triedCount'],
    properties: {
      tried: {
        type: 'array',
        maxItems: 20,
        items: ref('SelectionAttempt'),
        description: 'The first 20 identifiers tried (the one asked for, then its fallback chain), in order.',
      },
      triedCount: integer('How many identifiers were tried in all.'),
      retryAfterMs: integer('When the earliest matching instance may be selectable again, when known.'),
    },
  },
  UnknownStrategyDetails: {
    type: 'object',
    required: ['strategy', 'available'],
    properties: {
      strategy: { type: 'string', description: 'The name asked for.' },
      available: { type: 'array', items: { type: 'string' }, description: 'The strategies of this gateway, sorted.' },
    },
  },
  InstanceLimitDetails: {
    type: 'object',
    required: ['limit', 'current', 'requested'],
    properties: {
      limit: integer('`GATEWAY_MAX_INSTANCES_PER_PROJECT`.', 1),
      current: integer('Instances the project holds, whatever their status.'),
      requested: integer('New instances the request asked for.'),
    },
  },
  InstanceConflictDetails: {
    type: 'object',
    properties: {
      businessId: { type: 'string', description: 'The businessId asked for.' },
      existing: { type: 'string', description: 'The stored businessId it clashes with, when known.' },
      businessIds: {
        type: 'array',
        maxItems: 20,
        items: { type: 'string' },
        description: 'On a batch: the first 20 businessIds of the request.',
      },
    },
  },
  BodyDepthDetails: {
    type: 'object',
    required: ['maxDepth'],
    properties: { maxDepth: integer('`GATEWAY_MAX_BODY_DEPTH`.', 1) },
  },
  DependencyDetails: {
    type: 'object',
    description: 'Per dependency (`database`): its status and why.',
    additionalProperties: {
      type: 'object',
      properties: { status: { type: 'string', example: 'down' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
};

/** Components the details schemas reference. */
const SUPPORT_SCHEMAS: Readonly<Record<string, Schema>> = {
  SelectionAttempt: {
    type: 'object',
    required: ['identifier', 'result'],
    properties: {
      identifier: { type: 'string', description: 'An identifier tried.' },
      result: { type: 'string', description: 'Why nothing of it could serve, e.g. `2 not selectable: circuit OPEN`.' },
    },
  },
};

/** `THROTTLED` → `ThrottledError`, `INTERNAL_ERROR` → `InternalError`: the component of a code's envelope. */
export function errorComponentName(code: ErrorCode): string {
  const words = code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return words.endsWith('Error') ? words : `${words}Error`;
}

function detailsSchemaOf(shape: DetailsShape): Schema {
  return shape === 'FieldErrors' ? { type: 'array', items: ref('FieldErrorDto') } : ref(shape);
}

/** The envelope of one code: `code` and `error` are constants, `details` has the code's shape. */
function envelopeSchemaOf(code: ErrorCode): Schema {
  const doc = ERROR_DOCS[code];
  const status = ERROR_STATUS[code];
  const details: { shape: DetailsShape; always: boolean } | undefined = 'details' in doc ? doc.details : undefined;
  return {
    type: 'object',
    description: `HTTP ${status} \`${code}\`: ${doc.summary}`,
    required: [...ENVELOPE_FIELDS, ...(details?.always ? ['details'] : [])],
    properties: {
      code: { type: 'integer', enum: [status], description: 'The HTTP status.' },
      message: { type: 'string', description: 'For a person; may change between versions.' },
      error: { type: 'string', enum: [code], description: 'The stable machine code.' },
      ...(details ? { details: detailsSchemaOf(details.shape) } : {}),
      requestId: {
        type: 'string',
        description: 'The request id (`x-request-id`): the one the client sent when sane, else 32 lowercase hex.',
      },
      timestamp: { type: 'integer', format: 'int64', description: 'Server time, epoch milliseconds.' },
    },
  };
}

/** The parts of an operation the codes it may answer are read from. */
interface OperationShape {
  readonly parameters?: readonly { readonly in?: string; readonly name?: string }[];
  readonly requestBody?: unknown;
  readonly security?: readonly Readonly<Record<string, unknown>>[];
}

const API_KEY_CODES: readonly ErrorCode[] = [
  'API_KEY_MISSING',
  'INVALID_API_KEY',
  'API_KEY_REVOKED',
  'API_KEY_EXPIRED',
  'API_KEY_NOT_BOUND',
  'PROJECT_INACTIVE',
];
const ADMIN_CODES: readonly ErrorCode[] = ['ADMIN_TOKEN_MISSING', 'INVALID_ADMIN_TOKEN'];
const BODY_CODES: readonly ErrorCode[] = [
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'BODY_TOO_DEEP',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
const PATH_CODES: readonly ErrorCode[] = ['VALIDATION_FAILED', 'INVALID_URL', 'URI_TOO_LONG'];

/**
 * The codes an operation answers because of what it is, whatever its handler does: every route is
 * throttled (per key, admin or address) and may fail; a project-key route checks the key and its
 * project, an admin route the JWT; a body is parsed and validated, path parameters decoded and
 * validated, a query validated. Codes that depend on more than the document shows (scopes, the
 * viewer role) are declared by `@Authenticated()`, the handler's own by `@ApiErrors()`.
 */
export function impliedErrorCodes(operation: OperationShape): ErrorCode[] {
  const codes: ErrorCode[] = ['THROTTLED', 'INTERNAL_ERROR'];
  const schemes = new Set((operation.security ?? []).flatMap((requirement) => Object.keys(requirement)));
  if (schemes.has('api-key')) codes.push(...API_KEY_CODES);
  if (schemes.has('admin-jwt')) codes.push(...ADMIN_CODES);
  if (operation.requestBody !== undefined) codes.push(...BODY_CODES);
  const places = new Set((operation.parameters ?? []).map((parameter) => parameter.in));
  if (places.has('path')) codes.push(...PATH_CODES);
  if (places.has('query')) codes.push('VALIDATION_FAILED');
  return codes;
}

/** The codes as `ERROR_STATUS` lists them, each once: the document does not depend on decorator order. */
function inTableOrder(codes: Iterable<ErrorCode>): ErrorCode[] {
  const wanted = new Set(codes);
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => wanted.has(code));
}

type ResponseLike = Record<string, unknown> & { [ERROR_CODES_EXTENSION]?: ErrorCode[] };
type OperationLike = OperationShape & { operationId?: string; responses?: Record<string, ResponseLike> };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * The field a `VALIDATION_FAILED` example of this operation names: its first required body
 * field, else its first path or query parameter.
 */
function exampleFieldOf(operation: OperationLike, document: OpenAPIObject): { field: string; message: string } {
  const bodyRef = (operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content?.[
    'application/json'
  ]?.schema?.$ref;
  const body =
    typeof bodyRef === 'string'
      ? (document.components?.schemas?.[bodyRef.replace('#/components/schemas/', '')] as Schema | undefined)
      : undefined;
  const required = body?.required as string[] | undefined;
  if (required?.[0]) return { field: required[0], message: `${required[0]} is required` };
  const parameter = operation.parameters?.find((one) => one.in === 'path') ?? operation.parameters?.[0];
  if (parameter?.name === 'page') return { field: 'page', message: 'page must not be less than 1' };
  if (parameter?.name && /id$/i.test(parameter.name)) {
    return { field: parameter.name, message: `${parameter.name} must be 32 lowercase hex characters` };
  }
  if (parameter?.name) return { field: parameter.name, message: `${parameter.name} is invalid` };
  const [field] = ERROR_DOCS.VALIDATION_FAILED.example.details;
  return field;
}

/** A realistic envelope of `code` as this operation would answer it. */
function exampleOf(code: ErrorCode, operation: OperationLike, document: OpenAPIObject): Schema {
  const example: { message: string; details?: unknown } = ERROR_DOCS[code].example;
  let { message, details } = example;
  if (code === 'VALIDATION_FAILED') {
    const field = exampleFieldOf(operation, document);
    message = field.message;
    details = [field];
  }
  return {
    code: ERROR_STATUS[code],
    message,
    error: code,
    ...(details === undefined ? {} : { details }),
    requestId: EXAMPLE_REQUEST_ID,
    timestamp: EXAMPLE_TIMESTAMP,
  };
}

/** The response of one status: its codes' envelopes (one of them, told apart by `error`) and an example of each. */
function responseOf(status: number, codes: readonly ErrorCode[], operation: OperationLike, document: OpenAPIObject) {
  const schema =
    codes.length === 1
      ? ref(errorComponentName(codes[0]))
      : {
          oneOf: codes.map((code) => ref(errorComponentName(code))),
          discriminator: {
            propertyName: 'error',
            mapping: Object.fromEntries(
              codes.map((code) => [code, `#/components/schemas/${errorComponentName(code)}`]),
            ),
          },
        };
  const examples = Object.fromEntries(
    codes.map((code) => [code, { summary: ERROR_DOCS[code].summary, value: exampleOf(code, operation, document) }]),
  );
  return {
    description: codes.map((code) => `\`${code}\`: ${ERROR_DOCS[code].summary}`).join('\n\n'),
    // Every 429 says when to come back; the body's `details.retryAfterMs` says it in milliseconds.
    ...(status === 429
      ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 0 } } } }
      : {}),
    content: { 'application/json': { schema, examples } },
  };
}

/**
 * The codes an operation of a document {@link documentErrors} wrote answers, by HTTP status: read
 * from the envelopes its error responses reference, as a client generator reads them.
 */
export function documentedErrorCodes(document: OpenAPIObject, operation: OperationLike): Map<number, ErrorCode[]> {
  const codeOf = (reference: unknown): ErrorCode => {
    const name = String((reference as { $ref?: string }).$ref).replace('#/components/schemas/', '');
    const envelope = document.components?.schemas?.[name] as { properties?: { error?: { enum?: ErrorCode[] } } };
    const code = envelope?.properties?.error?.enum?.[0];
    if (code === undefined) throw new Error(`${name} is not an error envelope`);
    return code;
  };
  const byStatus = new Map<number, ErrorCode[]>();
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    if (Number(status) < 400) continue;
    const content = response.content as Record<string, { schema?: { oneOf?: unknown[] } }> | undefined;
    const schema = content?.['application/json']?.schema;
    if (schema === undefined) throw new Error(`response ${status} has no JSON schema`);
    byStatus.set(Number(status), (schema.oneOf ?? [schema]).map(codeOf));
  }
  return byStatus;
}

/**
 * Documents every operation's errors exactly: for each HTTP status, the envelopes of the codes it
 * may answer there — those `@ApiErrors()` declared (see {@link ERROR_CODES_EXTENSION}) and those
 * it answers because of what it is ({@link impliedErrorCodes}). Each code's envelope is one named
 * component (`ThrottledError`: `error` is `THROTTLED`, `details` typed), so a generated client
 * gets, per status, a union it narrows by `error`; each response has one realistic example per
 * code. A viewer admin may read, so `ADMIN_ROLE_REQUIRED` is dropped from GET operations.
 */
export function documentErrors(document: OpenAPIObject): void {
  const used = new Set<ErrorCode>();
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as OperationLike | undefined;
      if (!operation) continue;
      const responses = (operation.responses ??= {});
      const declared: ErrorCode[] = [];
      for (const [status, response] of Object.entries(responses)) {
        const codes = response[ERROR_CODES_EXTENSION];
        if (codes === undefined) continue;
        declared.push(...codes);
        delete responses[status];
      }
      const codes = inTableOrder([...declared, ...impliedErrorCodes(operation)]).filter(
        (code) => !(method === 'get' && code === 'ADMIN_ROLE_REQUIRED'),
      );
      const statuses = [...new Set(codes.map((code) => ERROR_STATUS[code] as number))].sort((a, b) => a - b);
      for (const status of statuses) {
        const atStatus = codes.filter((code) => ERROR_STATUS[code] === status);
        atStatus.forEach((code) => used.add(code));
        responses[String(status)] = responseOf(status, atStatus, operation, document);
      }
    }
  }
  const schemas = ((document.components ??= {}).schemas ??= {});
  const shapes = new Set<DetailsShape>();
  for (const code of inTableOrder(used)) {
    schemas[errorComponentName(code)] = envelopeSchemaOf(code);
    const doc = ERROR_DOCS[code];
    if ('details' in doc) shapes.add(doc.details.shape);
  }
  for (const shape of shapes) if (shape !== 'FieldErrors') schemas[shape] = DETAILS_SCHEMAS[shape];
  if (shapes.has('SelectionFailureDetails')) Object.assign(schemas, SUPPORT_SCHEMAS);
}

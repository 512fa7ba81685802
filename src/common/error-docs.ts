import type { ErrorCode } from './error-codes';

/**
 * What an error's `details` holds, by the name of its OpenAPI component (`FieldErrors`: an array
 * of `FieldErrorDto`). The schemas are in `openapi-errors.ts`.
 */
export type DetailsShape =
  | 'FieldErrors'
  | 'RetryAfterDetails'
  | 'RateBudgetDetails'
  | 'LeaseLimitDetails'
  | 'RegistrationBusyDetails'
  | 'SelectionFailureDetails'
  | 'UnknownStrategyDetails'
  | 'InstanceLimitDetails'
  | 'InstanceConflictDetails'
  | 'BodyDepthDetails'
  | 'DependencyDetails';

/** How one stable code is documented: when it is answered, what its `details` hold, a realistic answer. */
export interface ErrorDoc {
  /** When the gateway answers it, in one line (Swagger UI shows it beside the example). */
  readonly summary: string;
  /** The shape of `details`; `always`: every answer with this code carries them. Absent: no details. */
  readonly details?: { readonly shape: DetailsShape; readonly always: boolean };
  /** A realistic `message` and `details`, for the document's examples. */
  readonly example: { readonly message: string; readonly details?: unknown };
}

const FIELD_ERRORS = { shape: 'FieldErrors', always: true } as const;
const RETRY_AFTER = { shape: 'RetryAfterDetails', always: true } as const;
const SELECTION_FAILURE = { shape: 'SelectionFailureDetails', always: true } as const;
/** An id as the examples show one (32 lowercase hex). */
export const EXAMPLE_ID = '5b0e6a1c9d2f4e8b8a7c6d5e4f3a2b1c';

/**
 * Every stable code's documentation, keyed like `ERROR_STATUS`: a code added there must be
 * documented here (the `satisfies` fails otherwise), so the OpenAPI document never shows an
 * undocumented code. The messages are the ones the gateway writes.
 */
export const ERROR_DOCS = {
  VALIDATION_FAILED: {
    summary: 'An input field is invalid; `details` names each field and what is wrong with it.',
    details: FIELD_ERRORS,
    example: {
      message: 'apiIdentifier is required',
      details: [{ field: 'apiIdentifier', message: 'apiIdentifier is required' }],
    },
  },
  INVALID_JSON: {
    summary: 'The body is not valid JSON.',
    example: { message: "Malformed JSON body: Expected ',' or '}' after property value in JSON at position 27" },
  },
  BODY_TOO_DEEP: {
    summary: 'The JSON body nests objects and arrays deeper than `GATEWAY_MAX_BODY_DEPTH` allows.',
    details: { shape: 'BodyDepthDetails', always: true },
    example: { message: 'The JSON body is nested deeper than 32 levels', details: { maxDepth: 32 } },
  },
  INVALID_URL: {
    summary: 'A path parameter is not valid percent-encoded UTF-8.',
    example: { message: "'/api/instances/%E0%A4%A' is not a valid url component" },
  },
  BAD_REQUEST: {
    summary: 'The HTTP request is malformed (a bad Content-Length or Transfer-Encoding, a bad header byte).',
    example: { message: 'Invalid Content-Length header' },
  },
  ROUTE_NOT_FOUND: {
    summary: 'No route has this path.',
    example: { message: 'No route GET /api/instance' },
  },
  METHOD_NOT_ALLOWED: {
    summary: 'The path exists under other methods, listed in the `Allow` header.',
    example: { message: 'Method PATCH is not allowed on /api/instances; allowed: GET, POST' },
  },
  REQUEST_TIMEOUT: {
    summary: 'The request was not received in time.',
    example: { message: 'The request was not received in time' },
  },
  PAYLOAD_TOO_LARGE: {
    summary: 'The body is larger than `GATEWAY_BODY_LIMIT_BYTES` (`GATEWAY_BATCH_BODY_LIMIT_BYTES` on batch routes).',
    example: { message: 'Request body is too large' },
  },
  URI_TOO_LONG: {
    summary: 'A path parameter is longer than 512 characters.',
    example: { message: "'/api/instances/MODEL/aaaa…' is exceeding the max param length" },
  },
  UNSUPPORTED_MEDIA_TYPE: {
    summary: 'The body is not sent as `application/json`.',
    example: { message: 'Unsupported Media Type: text/plain' },
  },
  HEADERS_TOO_LARGE: {
    summary: 'The request headers are larger than the server accepts.',
    example: { message: 'The request headers are larger than the server accepts' },
  },
  API_KEY_MISSING: {
    summary: 'No `api-key` header.',
    example: { message: 'An API key is required (header api-key)' },
  },
  INVALID_API_KEY: {
    summary: 'The API key is unknown.',
    example: { message: 'Invalid API key' },
  },
  API_KEY_REVOKED: {
    summary: 'The API key was revoked.',
    example: { message: 'This API key has been revoked' },
  },
  API_KEY_EXPIRED: {
    summary: 'The API key has expired.',
    example: { message: 'This API key has expired' },
  },
  API_KEY_NOT_BOUND: {
    summary: 'The API key is not bound to a project yet (`POST /api/projects` binds it).',
    example: { message: 'This API key is not bound to a project yet (POST /api/projects)' },
  },
  PROJECT_INACTIVE: {
    summary: "The API key's project is INACTIVE.",
    example: { message: 'The project of this API key is inactive' },
  },
  INSUFFICIENT_SCOPE: {
    summary: 'The API key lacks the scope this route needs.',
    example: { message: "This API key lacks the 'select' scope" },
  },
  ADMIN_TOKEN_MISSING: {
    summary: 'No `Authorization: Bearer <admin JWT>` header.',
    example: { message: 'An admin token is required (Authorization: Bearer <jwt>)' },
  },
  INVALID_ADMIN_TOKEN: {
    summary: 'The admin token is invalid, expired or revoked (logout, password change).',
    example: { message: 'The admin token is invalid or expired' },
  },
  METRICS_TOKEN_MISSING: {
    summary: 'GET /metrics without `Authorization: Bearer <metrics token or admin JWT>`.',
    example: { message: 'GET /metrics requires Authorization: Bearer <metrics token or admin JWT>' },
  },
  INVALID_METRICS_TOKEN: {
    summary: 'GET /metrics with a wrong token.',
    example: { message: 'The metrics token is invalid' },
  },
  ADMIN_ROLE_REQUIRED: {
    summary: 'A viewer admin may only read.',
    example: { message: 'This admin account may only read' },
  },
  INVALID_CREDENTIALS: {
    summary: 'Wrong username or password.',
    example: { message: 'Wrong username or password' },
  },
  INVALID_CURRENT_PASSWORD: {
    summary: 'The current password given is wrong.',
    details: FIELD_ERRORS,
    example: {
      message: 'The current password is wrong',
      details: [{ field: 'currentPassword', message: 'does not match' }],
    },
  },
  LOGIN_THROTTLED: {
    summary: 'Too many failed logins for this user or address, or the node is busy checking passwords.',
    details: RETRY_AFTER,
    example: { message: 'Too many failed logins; try again later', details: { retryAfterMs: 30000 } },
  },
  PROJECT_NOT_FOUND: {
    summary: 'No project has this id.',
    example: { message: `Project ${EXAMPLE_ID} not found` },
  },
  API_KEY_NOT_FOUND: {
    summary: 'No API key has this id.',
    example: { message: `API key ${EXAMPLE_ID} not found` },
  },
  ADMIN_USER_NOT_FOUND: {
    summary: 'No admin user has this id.',
    example: { message: `Admin user ${EXAMPLE_ID} not found` },
  },
  ADMIN_USERNAME_TAKEN: {
    summary: 'An admin user already has this name (whatever its case).',
    details: FIELD_ERRORS,
    example: {
      message: "An admin user named 'ops@example.com' already exists",
      details: [{ field: 'username', message: 'already taken' }],
    },
  },
  LAST_ADMIN: {
    summary: 'The last admin can be neither deleted nor demoted.',
    example: { message: 'The last admin can be neither deleted nor demoted; make another admin first' },
  },
  INSTANCE_NOT_FOUND: {
    summary: "No instance of the caller's project has this id or key; on reports, `details` names the field.",
    details: { shape: 'FieldErrors', always: false },
    example: {
      message: `Instance ${EXAMPLE_ID} not found`,
      details: [{ field: 'instanceId', message: 'instanceId is not an instance of this project' }],
    },
  },
  INSTANCE_LIMIT_REACHED: {
    summary: 'The project would hold more than `GATEWAY_MAX_INSTANCES_PER_PROJECT` instances.',
    details: { shape: 'InstanceLimitDetails', always: true },
    example: {
      message: 'A project may hold 5000 instances; it holds 4998, and 3 more were asked for',
      details: { limit: 5000, current: 4998, requested: 3 },
    },
  },
  INSTANCE_CONFLICT: {
    summary: 'A businessId the database holds equal to an existing one (MariaDB: `a` and `a `).',
    details: { shape: 'InstanceConflictDetails', always: true },
    example: {
      message: 'businessId "gpt-4o-eu " clashes with the existing "gpt-4o-eu", which the database holds equal to it',
      details: { businessId: 'gpt-4o-eu ', existing: 'gpt-4o-eu' },
    },
  },
  REGISTRATION_BUSY: {
    summary: "Too many of the project's registrations wait already, or other nodes hold its registration lock.",
    details: { shape: 'RegistrationBusyDetails', always: true },
    example: {
      message: '4 batch registrations of this project are already waiting; retry',
      details: { waiting: 4, limit: 4, retryAfterMs: 1000 },
    },
  },
  REGISTRY_BUDGET_EXHAUSTED: {
    summary: 'The project wrote more instances this minute than its write budget allows.',
    details: { shape: 'RateBudgetDetails', always: true },
    example: {
      message: 'The project wrote more than 10000 instances a minute; retry after 1500 ms',
      details: { limit: 10000, retryAfterMs: 1500 },
    },
  },
  NO_AVAILABLE_INSTANCE: {
    summary: 'No active instance matches the identifier (nor its fallback chain).',
    details: SELECTION_FAILURE,
    example: {
      message: "No active instance matches MODEL 'gpt-4o'",
      details: { tried: [{ identifier: 'gpt-4o', result: 'no active instance matches' }], triedCount: 1 },
    },
  },
  NO_HEALTHY_INSTANCE: {
    summary: 'Instances match, but none is selectable now (open breakers, exclusions).',
    details: SELECTION_FAILURE,
    example: {
      message: "No selectable instance for MODEL 'gpt-4o'",
      details: {
        tried: [{ identifier: 'gpt-4o', result: '2 not selectable: circuit OPEN' }],
        triedCount: 1,
        retryAfterMs: 12000,
      },
    },
  },
  FALLBACK_EXHAUSTED: {
    summary: 'Nothing is selectable for the identifier nor any identifier of its fallback chain.',
    details: SELECTION_FAILURE,
    example: {
      message: "Nothing selectable for MODEL 'gpt-4o' nor its fallback chain",
      details: {
        tried: [
          { identifier: 'gpt-4o', result: '2 not selectable: circuit OPEN' },
          { identifier: 'claude-sonnet', result: 'no active instance matches' },
        ],
        triedCount: 2,
      },
    },
  },
  AFFINITY_UNAVAILABLE: {
    summary: 'A STRICT affinity binding points at an instance that is not selectable.',
    details: SELECTION_FAILURE,
    example: {
      message: 'The instance bound to affinity key is not selectable',
      details: { tried: [{ identifier: 'gpt-4o', result: 'STRICT affinity binding not selectable' }], triedCount: 1 },
    },
  },
  UNKNOWN_STRATEGY: {
    summary: 'No selection strategy has this name.',
    details: { shape: 'UnknownStrategyDetails', always: true },
    example: {
      message: 'Unknown selection strategy "fastest"',
      details: {
        strategy: 'fastest',
        available: [
          'least-busy',
          'least-latency',
          'lowest-cost',
          'round-robin',
          'smart',
          'success-rate',
          'weighted-random',
        ],
      },
    },
  },
  QUOTA_EXHAUSTED: {
    summary: 'Every matching instance is at its quota (rpm, tpm, concurrency) or cooling down: back off.',
    details: SELECTION_FAILURE,
    example: {
      message: "Every instance for MODEL 'gpt-4o' is at its quota",
      details: {
        tried: [{ identifier: 'gpt-4o', result: '2 not selectable: rpm quota reached' }],
        triedCount: 1,
        retryAfterMs: 4000,
      },
    },
  },
  LEASE_LIMIT_REACHED: {
    summary: 'The project holds too many open leases (selections not reported yet) on this node.',
    details: { shape: 'LeaseLimitDetails', always: true },
    example: {
      message:
        'The project holds 10000 open leases (selections not reported yet); report results or wait for them to expire',
      details: { limit: 10000, retryAfterMs: 2500 },
    },
  },
  SELECTION_BUDGET_EXHAUSTED: {
    summary: 'The project judged more candidates this second than its selection budget allows.',
    details: { shape: 'RateBudgetDetails', always: true },
    example: {
      message: 'The project judged more than 200000 candidates a second; retry after 400 ms',
      details: { limit: 200000, retryAfterMs: 400 },
    },
  },
  NOT_FOUND: {
    summary: 'Not found.',
    example: { message: 'Not Found' },
  },
  CONFLICT: {
    summary: 'A concurrent request changed the same record; retry.',
    example: { message: 'This API key was bound concurrently; retry' },
  },
  THROTTLED: {
    summary: 'More requests this minute than `GATEWAY_THROTTLE_PER_MINUTE` (per API key, admin or address).',
    details: RETRY_AFTER,
    example: { message: 'Too many requests: at most 600000 per minute', details: { retryAfterMs: 1000 } },
  },
  NOT_READY: {
    summary: 'The gateway is starting or shutting down, or a dependency does not answer.',
    details: { shape: 'DependencyDetails', always: false },
    example: {
      message: 'A dependency is not answering',
      details: { database: { status: 'down', message: 'timeout of 2000ms exceeded' } },
    },
  },
  INTERNAL_ERROR: {
    summary: 'A bug or an outage on the gateway side (logged with the request id).',
    example: { message: 'Internal server error' },
  },
} as const satisfies { readonly [Code in ErrorCode]: ErrorDoc };

import type { BodySchema } from '../../common/schema-openapi';
import { SchemaValidated } from '../../common/schema-validation';

// These schemas are the one definition of the report bodies: ajv validates with them and the
// OpenAPI components are generated from them (`@SchemaValidated`). The field comments of the
// classes become the OpenAPI descriptions.

/**
 * Bounds of the usage numbers. No real call comes near them: the largest context windows hold 1–10
 * million tokens, so 1e9 tokens is a hundred times that; and 1e9 for `cost` leaves room for any
 * currency or unit (a $1,000 call counted in micro-dollars, a $60,000 one in rupiah). What they
 * stop is a tenant poisoning the per-minute sums: every sum stays finite and within its column.
 */
export const MAX_REPORTED_TOKENS = 1e9;
export const MAX_REPORTED_COST = 1e9;

/**
 * `errorMessage` and `errorType` are never rejected for their length (a client passes the
 * provider's raw error body on, and a CDN's error page is ~8 KB: the body limit bounds them);
 * only this many characters are kept, classified and passed on.
 */
export const KEPT_ERROR_MESSAGE_CHARS = 2048;
export const KEPT_ERROR_TYPE_CHARS = 256;

const tokens = { type: ['number', 'null'], minimum: 0, maximum: MAX_REPORTED_TOKENS };

/** Numbers are summed; other keys are kept as labels (so unknown properties are allowed). */
export const usageMetricsSchema = {
  type: ['object', 'null'],
  properties: {
    promptTokens: tokens,
    completionTokens: tokens,
    totalTokens: tokens,
    cost: { type: ['number', 'null'], minimum: 0, maximum: MAX_REPORTED_COST },
  },
} as const satisfies BodySchema<UsageMetricsDto>;

/** Token usage and cost of one call; numbers are summed, other keys are kept as labels. */
@SchemaValidated(usageMetricsSchema)
export class UsageMetricsDto {
  /** At most 1e9. */
  promptTokens?: number;
  /** At most 1e9. */
  completionTokens?: number;
  /** At most 1e9. */
  totalTokens?: number;
  /** In any currency or unit the project chooses; at most 1e9. */
  cost?: number;
}

/** One report; unknown properties are ignored as the reference did. */
export const reportResultSchema = {
  type: 'object',
  required: ['instanceId', 'businessId', 'success', 'latencyMs', 'callTimestamp'],
  properties: {
    instanceId: { type: 'string', minLength: 1, maxLength: 64 },
    businessId: { type: 'string', minLength: 1, maxLength: 128 },
    success: { type: 'boolean' },
    latencyMs: { type: 'integer', minimum: 0, maximum: 86400000 },
    callTimestamp: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    userId: { type: ['string', 'null'], maxLength: 128 },
    errorMessage: { type: ['string', 'null'] },
    errorType: { type: ['string', 'null'] },
    usageMetrics: usageMetricsSchema,
    selectionId: { type: ['string', 'null'], maxLength: 64 },
    statusCode: { type: ['integer', 'null'], minimum: 100, maximum: 599 },
    retryAfterMs: { type: ['integer', 'null'], minimum: 0, maximum: 86400000 },
    ttftMs: { type: ['integer', 'null'], minimum: 0, maximum: 86400000 },
  },
} as const satisfies BodySchema<ReportResultDto>;

/**
 * [compat] The outcome of a call the application made to the instance it was given. Validated
 * and documented by {@link reportResultSchema}.
 */
@SchemaValidated(reportResultSchema)
export class ReportResultDto {
  instanceId!: string;

  businessId!: string;

  success!: boolean;

  latencyMs!: number;

  /** Epoch ms of the call: the minute it is counted in (server time when implausible). */
  callTimestamp!: number;

  userId?: string | null;

  /**
   * The error as the client saw it, a raw provider body included: any length within the body
   * limit (64 KiB), of which the first 2048 characters are kept and classified.
   */
  errorMessage?: string | null;

  /**
   * An outcome class (SUCCESS, SERVER_ERROR, TIMEOUT, RATE_LIMITED, AUTH_ERROR, CLIENT_ERROR, UNKNOWN) or a label
   * such as an exception's class name: any length, of which the first 256 characters are kept and classified.
   */
  errorType?: string | null;

  usageMetrics?: UsageMetricsDto | null;

  /** The selectionId select-instance returned; closes that lease. */
  selectionId?: string | null;

  /** The backend's HTTP status. */
  statusCode?: number | null;

  /** The backend's Retry-After, ms. */
  retryAfterMs?: number | null;

  /** Time to first token of a streamed call, ms. */
  ttftMs?: number | null;
}

/** Up to 1000 reports; unlike a single report, unknown properties are rejected here. */
export const reportResultsSchema = {
  type: 'object',
  required: ['results'],
  additionalProperties: false,
  properties: { results: { type: 'array', minItems: 1, maxItems: 1000, items: reportResultSchema } },
} as const satisfies BodySchema<ReportResultsDto>;

@SchemaValidated(reportResultsSchema)
export class ReportResultsDto {
  results!: ReportResultDto[];
}

/** What report-result did with the report. */
export class ReportAckDto {
  /** False when the report's `selectionId` was reported before: acknowledged, not counted again. */
  counted!: boolean;
}

/** report-result's two answers, shared: nothing is allocated for them per request. */
export const REPORT_COUNTED: ReportAckDto = Object.freeze({ counted: true });
export const REPORT_NOT_COUNTED: ReportAckDto = Object.freeze({ counted: false });

/** What report-results did with the batch. */
export class ReportsAckDto {
  /** Reports counted. */
  counted!: number;
  /** Reports of a selection reported before (or earlier in this batch): acknowledged, not counted. */
  duplicates!: number;
}

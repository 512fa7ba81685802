import type { BodySchema } from '../../common/schema-openapi';
import { SchemaValidated } from '../../common/schema-validation';

// These schemas are the one definition of the report bodies: ajv validates with them and the
// OpenAPI components are generated from them (`@SchemaValidated`). The field comments of the
// classes become the OpenAPI descriptions.

const nonNegative = { type: ['number', 'null'], minimum: 0 };

/** Numbers are summed; other keys are kept as labels (so unknown properties are allowed). */
export const usageMetricsSchema = {
  type: ['object', 'null'],
  properties: {
    promptTokens: nonNegative,
    completionTokens: nonNegative,
    totalTokens: nonNegative,
    cost: nonNegative,
  },
} as const satisfies BodySchema<UsageMetricsDto>;

/** Token usage and cost of one call; numbers are summed, other keys are kept as labels. */
@SchemaValidated(usageMetricsSchema)
export class UsageMetricsDto {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
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
    callTimestamp: { type: 'integer', minimum: 0 },
    userId: { type: ['string', 'null'], maxLength: 128 },
    errorMessage: { type: ['string', 'null'], maxLength: 4096 },
    errorType: { type: ['string', 'null'], maxLength: 64 },
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

  errorMessage?: string | null;

  /** An outcome class (SUCCESS, SERVER_ERROR, TIMEOUT, RATE_LIMITED, AUTH_ERROR, CLIENT_ERROR, UNKNOWN) or a label. */
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

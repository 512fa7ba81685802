import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SchemaValidated } from '../../common/schema-validation';

/** Token usage and cost of one call; numbers are summed, other keys are kept as labels. */
export class UsageMetricsDto {
  @ApiPropertyOptional({ minimum: 0 }) promptTokens?: number;
  @ApiPropertyOptional({ minimum: 0 }) completionTokens?: number;
  @ApiPropertyOptional({ minimum: 0 }) totalTokens?: number;
  @ApiPropertyOptional({ minimum: 0 }) cost?: number;
}

/**
 * [compat] The outcome of a call the application made to the instance it was given. Validated by
 * {@link reportResultSchema} (compiled JSON schema, hot path); unknown properties are ignored.
 */
@SchemaValidated()
export class ReportResultDto {
  @ApiProperty({ minLength: 1, maxLength: 64 })
  instanceId!: string;

  @ApiProperty({ minLength: 1, maxLength: 128 })
  businessId!: string;

  success!: boolean;

  @ApiProperty({ type: 'integer', minimum: 0 })
  latencyMs!: number;

  /** Epoch ms of the call: the minute it is counted in (server time when implausible). */
  @ApiProperty({ type: 'integer', minimum: 0 })
  callTimestamp!: number;

  @ApiPropertyOptional({ maxLength: 128, nullable: true })
  userId?: string | null;

  @ApiPropertyOptional({ maxLength: 4096, nullable: true })
  errorMessage?: string | null;

  /** An outcome class (SUCCESS, SERVER_ERROR, TIMEOUT, RATE_LIMITED, AUTH_ERROR, CLIENT_ERROR, UNKNOWN) or a label. */
  @ApiPropertyOptional({ maxLength: 64, nullable: true })
  errorType?: string | null;

  @ApiPropertyOptional({ type: UsageMetricsDto, nullable: true })
  usageMetrics?: UsageMetricsDto | null;

  /** The selectionId select-instance returned; closes that lease. */
  @ApiPropertyOptional({ maxLength: 64, nullable: true })
  selectionId?: string | null;

  /** The backend's HTTP status. */
  @ApiPropertyOptional({ type: 'integer', minimum: 100, maximum: 599, nullable: true })
  statusCode?: number | null;

  /** The backend's Retry-After, ms. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, nullable: true })
  retryAfterMs?: number | null;

  /** Time to first token of a streamed call, ms. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, nullable: true })
  ttftMs?: number | null;
}

@SchemaValidated()
export class ReportResultsDto {
  @ApiProperty({ type: [ReportResultDto], minItems: 1, maxItems: 1000 })
  results!: ReportResultDto[];
}

const nonNegative = { type: ['number', 'null'], minimum: 0 };

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
    usageMetrics: {
      type: ['object', 'null'],
      properties: {
        promptTokens: nonNegative,
        completionTokens: nonNegative,
        totalTokens: nonNegative,
        cost: nonNegative,
      },
    },
    selectionId: { type: ['string', 'null'], maxLength: 64 },
    statusCode: { type: ['integer', 'null'], minimum: 100, maximum: 599 },
    retryAfterMs: { type: ['integer', 'null'], minimum: 0, maximum: 86400000 },
    ttftMs: { type: ['integer', 'null'], minimum: 0, maximum: 86400000 },
  },
} as const;

export const reportResultsSchema = {
  type: 'object',
  required: ['results'],
  additionalProperties: false,
  properties: { results: { type: 'array', minItems: 1, maxItems: 1000, items: reportResultSchema } },
} as const;

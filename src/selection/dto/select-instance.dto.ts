import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SchemaValidated } from '../../common/schema-validation';
import { InstanceDto } from '../../registry/dto/instance.dto';
import { API_TYPES, type ApiType } from '../../registry/instance-record';

export const AFFINITY_STRENGTHS = ['PREFERRED', 'STRICT'] as const;
export type AffinityStrength = (typeof AFFINITY_STRENGTHS)[number];

/**
 * [compat] Which instance should I call? Validated by {@link selectInstanceSchema} (compiled
 * JSON schema, hot path); unknown properties are ignored as the reference did; optional fields
 * may be null (Java clients send them).
 */
@SchemaValidated()
export class SelectInstanceDto {
  /** Matches an instance's `apiIdentifier` or its `businessId`. */
  @ApiProperty({ minLength: 1, maxLength: 128 })
  apiIdentifier!: string;

  @ApiProperty({ enum: API_TYPES })
  apiType!: ApiType;

  /** When given, only instances with exactly this userId. */
  @ApiPropertyOptional({ maxLength: 128, nullable: true })
  userId?: string | null;

  /** Session stickiness key (e.g. a conversation id). */
  @ApiPropertyOptional({ maxLength: 256, nullable: true })
  affinityKey?: string | null;

  /** `SESSION`, `USER`, `BATCH`, `REGION` or any string. */
  @ApiPropertyOptional({ maxLength: 64, nullable: true })
  affinityType?: string | null;

  /** `PREFERRED` (default) rebinds when the bound instance is not selectable; `STRICT` answers AFFINITY_UNAVAILABLE. */
  @ApiPropertyOptional({ enum: AFFINITY_STRENGTHS, nullable: true })
  affinityStrength?: AffinityStrength | null;

  /** Identifiers tried in order when the primary has nothing selectable. */
  @ApiPropertyOptional({ type: [String], maxItems: 10, nullable: true })
  fallbackChain?: string[] | null;

  /** Overrides the project's default strategy. */
  @ApiPropertyOptional({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', nullable: true })
  strategy?: string | null;

  /** Instances not to choose (e.g. the one that just failed, on a retry). */
  @ApiPropertyOptional({ type: [String], maxItems: 100, nullable: true })
  excludeInstanceIds?: string[] | null;

  /** Tokens this call will probably use; reserved against `tpmLimit`. */
  @ApiPropertyOptional({ minimum: 0, maximum: 100000000, type: 'integer', nullable: true })
  estimatedTokens?: number | null;

  /** Include every candidate's state, score and why it was or was not chosen. */
  @ApiPropertyOptional({ nullable: true })
  explain?: boolean | null;
}

const nullableString = (maxLength: number, extra: Record<string, unknown> = {}) => ({
  type: ['string', 'null'],
  maxLength,
  ...extra,
});

export const selectInstanceSchema = {
  type: 'object',
  required: ['apiIdentifier', 'apiType'],
  properties: {
    apiIdentifier: { type: 'string', minLength: 1, maxLength: 128 },
    apiType: { type: 'string', enum: [...API_TYPES] },
    userId: nullableString(128),
    affinityKey: nullableString(256),
    affinityType: nullableString(64),
    affinityStrength: { type: ['string', 'null'], enum: [...AFFINITY_STRENGTHS, null] },
    fallbackChain: { type: ['array', 'null'], maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 128 } },
    strategy: nullableString(64, { pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    excludeInstanceIds: { type: ['array', 'null'], maxItems: 100, items: { type: 'string', maxLength: 64 } },
    estimatedTokens: { type: ['integer', 'null'], minimum: 0, maximum: 100000000 },
    explain: { type: ['boolean', 'null'] },
  },
} as const;

/** One candidate in `explain` output. */
export class CandidateExplanationDto {
  instanceId!: string;
  businessId!: string;
  apiIdentifier!: string;
  /** `routingParams.priority` (higher tiers first). */
  priority!: number;
  /** Whether it could be chosen now. */
  selectable!: boolean;
  /** Why not, when not selectable; or why it was chosen. */
  reason?: string;
  /** The strategy's score, when the strategy scores. */
  score?: number;
  chosen!: boolean;
  callsInWindow!: number;
  successRate?: number;
  latencyMs!: number;
  openLeases!: number;
}

export class SelectionExplanationDto {
  /** The identifiers tried, in order (primary, then fallback entries). */
  @ApiProperty({ type: [String] })
  tried!: string[];
  @ApiProperty({ type: [CandidateExplanationDto] })
  candidates!: CandidateExplanationDto[];
}

/** The chosen instance, plus how it was chosen. */
export class SelectedInstanceDto extends InstanceDto {
  /** Pass it back in report-result to close this selection's lease. */
  selectionId!: string;
  strategy!: string;
  /** The priority tier served. */
  tier!: number;
  /** True when served below the best configured tier (or as least-bad). */
  degraded!: boolean;
  fallbackUsed!: boolean;
  /** The primary identifier, when a fallback entry served. */
  fallbackFrom!: string | null;
  /** True when the instance came from an affinity binding. */
  affinityBound!: boolean;
  explain?: SelectionExplanationDto;
}

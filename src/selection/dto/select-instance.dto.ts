import { ApiProperty } from '@nestjs/swagger';
import type { BodySchema } from '../../common/schema-openapi';
import { SchemaValidated } from '../../common/schema-validation';
import { InstanceDto } from '../../registry/dto/instance.dto';
import { API_TYPES, type ApiType } from '../../registry/instance-record';

export const AFFINITY_STRENGTHS = ['PREFERRED', 'STRICT'] as const;
export type AffinityStrength = (typeof AFFINITY_STRENGTHS)[number];

/** Entries a `fallbackChain` may hold (AgentX users have 11 models and more). */
export const MAX_FALLBACK_CHAIN = 64;

const nullableString = (maxLength: number, extra: Record<string, unknown> = {}) => ({
  type: ['string', 'null'],
  maxLength,
  ...extra,
});

/**
 * The one definition of the select-instance body: ajv validates with it and the OpenAPI component
 * `SelectInstanceDto` is generated from it (`@SchemaValidated`). Unknown properties are ignored as
 * the reference did; optional fields may be null (Java clients send them).
 */
export const selectInstanceSchema = {
  type: 'object',
  required: ['apiIdentifier', 'apiType'],
  properties: {
    apiIdentifier: { type: 'string', minLength: 1, maxLength: 128, examples: ['gpt-4o'] },
    apiType: { type: 'string', enum: [...API_TYPES], examples: ['MODEL'] },
    userId: nullableString(128),
    affinityKey: nullableString(256),
    affinityType: nullableString(64),
    affinityStrength: { type: ['string', 'null'], enum: [...AFFINITY_STRENGTHS, null] },
    fallbackChain: {
      type: ['array', 'null'],
      maxItems: MAX_FALLBACK_CHAIN,
      items: { type: 'string', minLength: 1, maxLength: 128 },
    },
    strategy: nullableString(64, { pattern: '^[a-z0-9][a-z0-9-]{0,63}$', examples: ['smart'] }),
    excludeInstanceIds: { type: ['array', 'null'], maxItems: 100, items: { type: 'string', maxLength: 64 } },
    estimatedTokens: { type: ['integer', 'null'], minimum: 0, maximum: 100000000 },
    explain: { type: ['boolean', 'null'] },
  },
} as const satisfies BodySchema<SelectInstanceDto>;

/**
 * A select body that succeeds when tried from Swagger UI against a project with a `gpt-4o` MODEL
 * instance: only fields whose generated sample would filter everything out are left out.
 */
export const SELECT_INSTANCE_EXAMPLE = {
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  strategy: 'smart',
} as const satisfies Partial<SelectInstanceDto>;

/**
 * [compat] Which instance should I call? Validated and documented by {@link selectInstanceSchema};
 * the field comments become the OpenAPI descriptions.
 */
@SchemaValidated(selectInstanceSchema)
export class SelectInstanceDto {
  /** Matches an instance's `apiIdentifier` or its `businessId`. */
  apiIdentifier!: string;

  apiType!: ApiType;

  /** When given, only instances with exactly this userId. */
  userId?: string | null;

  /** Session stickiness key (e.g. a conversation id). */
  affinityKey?: string | null;

  /** `SESSION`, `USER`, `BATCH`, `REGION` or any string. */
  affinityType?: string | null;

  /** `PREFERRED` (default) rebinds when the bound instance is not selectable; `STRICT` answers AFFINITY_UNAVAILABLE. */
  affinityStrength?: AffinityStrength | null;

  /** Identifiers tried in order when the primary has nothing selectable (at most 64). */
  fallbackChain?: string[] | null;

  /** Overrides the project's default strategy. */
  strategy?: string | null;

  /** Instances not to choose (e.g. the one that just failed, on a retry). */
  excludeInstanceIds?: string[] | null;

  /** Tokens this call will probably use; reserved against `tpmLimit`. */
  estimatedTokens?: number | null;

  /**
   * Explain the choice: counts over every candidate, and the state, score and fate of the chosen
   * one and the best others (at most `GATEWAY_EXPLAIN_MAX_CANDIDATES`, 20 by default).
   */
  explain?: boolean | null;
}

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

/** Candidates that could not be chosen, by kind of reason. */
export class NotSelectableCountsDto {
  /** Circuit OPEN, or HALF_OPEN with every probe slot taken. */
  breaker!: number;
  /** FORCED_OPEN by an operator. */
  operator!: number;
  /** Cooling down after a RATE_LIMITED report. */
  cooldown!: number;
  /** At the gateway's own limits for the backend (rpmLimit, tpmLimit, maxConcurrency). */
  quota!: number;
  /** Named in the request's `excludeInstanceIds`. */
  excluded!: number;
}

/**
 * How a selection was made. Its size does not grow with the instance count: the candidates are
 * counted, and only the chosen one and the best others are listed.
 */
export class SelectionExplanationDto {
  /** The identifiers tried, in order (primary, then fallback entries). */
  @ApiProperty({ type: [String] })
  tried!: string[];
  /** Candidates judged, over every identifier tried. */
  totalCandidates!: number;
  /** Of those, the ones that could be chosen. */
  selectableCandidates!: number;
  /** Of those, the ones that could not be chosen, by kind of reason. */
  notSelectable!: NotSelectableCountsDto;
  /** Candidates counted but not listed (`totalCandidates` minus the length of `candidates`). */
  omittedCandidates!: number;
  /**
   * At most `GATEWAY_EXPLAIN_MAX_CANDIDATES` (20 by default): the chosen one first, then the best
   * others — selectable before not selectable, of the identifier served first, then by priority,
   * score, and for the not selectable the soonest back.
   */
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

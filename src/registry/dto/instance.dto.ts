import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, IsUrl, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import { ApiMaxItemsFromConfig } from '../../common/openapi-limits';
import { PageQueryDto } from '../../common/pagination';
import { Lenient } from '../../common/validation.pipe';
import {
  API_TYPES,
  INSTANCE_STATUSES,
  type ApiType,
  type InstanceRecord,
  type InstanceStatus,
} from '../instance-record';
import { StoredInstanceRecord } from '../stored-record';

/** `GATEWAY_MAX_INSTANCES_PER_PROJECT`'s default: the batch routes' `maxItems` unless configured otherwise. */
const DEFAULT_INSTANCES_PER_PROJECT = 5000;

// Control characters in names break logs, headers and path parameters.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;
const printable = (field: string) => ({ message: `${field} must not contain control characters` });

/** The longest `endpoint` kept: URLs beyond it are refused, never cut. */
export const ENDPOINT_MAX_LENGTH = 2048;

/** `endpoint` is an absolute http(s) URL; a host without a dot (`localhost`, a service name) is fine. */
const ENDPOINT_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };
const endpointMessage = { message: 'endpoint must be an absolute http or https URL' };

/** How a registration left an instance. */
export const REGISTRATIONS = ['created', 'updated', 'unchanged'] as const;
export type Registration = (typeof REGISTRATIONS)[number];

export class InstanceDto {
  id!: string;
  projectId!: string;
  userId!: string | null;
  apiIdentifier!: string;
  @ApiProperty({ enum: API_TYPES })
  apiType!: ApiType;
  businessId!: string;
  /** `priority`, `weight` (alias `initial_weight`), `costPerUnit` (alias `cost_per_unit`), `rpmLimit`, `tpmLimit`, `maxConcurrency`, `timeoutMs`, `slowCallMs`, `breaker`; other keys kept. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  routingParams!: Record<string, unknown>;
  @ApiProperty({ enum: INSTANCE_STATUSES })
  status!: InstanceStatus;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  metadata!: Record<string, unknown> | null;
  /** The URL to call (http or https), when registered with one. */
  @ApiProperty({ type: 'string', format: 'uri', nullable: true, example: 'https://api.openai.com/v1' })
  endpoint!: string | null;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

/**
 * An instance as the API answers it. Its JSON is parsed from the stored text for this answer only,
 * so listing or registering instances never leaves their parsed form behind in the index.
 */
export function toInstanceDto(record: InstanceRecord): InstanceDto {
  const json = StoredInstanceRecord.jsonOf(record);
  return {
    id: record.id,
    projectId: record.projectId,
    userId: record.userId,
    apiIdentifier: record.apiIdentifier,
    apiType: record.apiType,
    businessId: record.businessId,
    routingParams: JSON.parse(json.routingParams) as Record<string, unknown>,
    status: record.status,
    metadata: json.metadata === null ? null : (JSON.parse(json.metadata) as Record<string, unknown>),
    endpoint: record.endpoint,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

/** An instance as a registration answers it: the instance, and whether it was created, updated or left as it was. */
export class RegisteredInstanceDto extends InstanceDto {
  /** `created`: new; `updated`: it existed and what was sent changed it; `unchanged`: it existed as sent. */
  @ApiProperty({ enum: REGISTRATIONS, enumName: 'Registration' })
  registration!: Registration;
}

export function toRegisteredInstanceDto(record: InstanceRecord, registration: Registration): RegisteredInstanceDto {
  return { ...toInstanceDto(record), registration };
}

/**
 * [compat] An instance to register. Unknown properties are ignored, as the reference did. An
 * existing instance (same apiType and businessId) is updated with what was sent: `apiIdentifier`,
 * and `userId`, `routingParams`, `metadata` and `endpoint` when given a value (absent or null keeps
 * the stored one; `PUT` clears); its status never changes.
 */
@Lenient()
export class CreateInstanceDto {
  /** When set, only select requests with exactly this userId get this instance. */
  @IsOptional() @IsString() @Length(1, 128) @Matches(PRINTABLE, printable('userId')) userId?: string | null;

  /** What callers select by, e.g. a model name; several instances usually share it. */
  @IsString() @Length(1, 128) @Matches(PRINTABLE, printable('apiIdentifier')) apiIdentifier!: string;

  @ApiProperty({ enum: API_TYPES })
  @IsIn(API_TYPES, { message: `apiType must be one of ${API_TYPES.join(', ')}` })
  apiType!: ApiType;

  /** The caller's unique name for this instance within (project, apiType). */
  @IsString() @Length(1, 128) @Matches(PRINTABLE, printable('businessId')) businessId!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  routingParams?: Record<string, unknown>;

  /** Free JSON, at most 16 KiB. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  /** The URL callers should call (absolute http or https, at most 2048 characters). */
  @ApiPropertyOptional({
    type: 'string',
    format: 'uri',
    maxLength: ENDPOINT_MAX_LENGTH,
    example: 'https://api.openai.com/v1',
  })
  @IsOptional()
  @IsString()
  @MaxLength(ENDPOINT_MAX_LENGTH)
  @IsUrl(ENDPOINT_URL, endpointMessage)
  endpoint?: string;
}

/**
 * The body of `POST /api/instances/batch`: 1 to `GATEWAY_MAX_INSTANCES_PER_PROJECT` instances
 * (every instance a project may hold, default 5000). Validated by `BatchBodies`, in chunks.
 */
export class BatchCreateInstancesDto {
  @ApiProperty({ type: [CreateInstanceDto], minItems: 1, maxItems: DEFAULT_INSTANCES_PER_PROJECT })
  @ApiMaxItemsFromConfig((config) => config.limits.instancesPerProject)
  instances!: CreateInstanceDto[];
}

/**
 * [compat] The update of `PUT /api/instances/{apiType}/{businessId}`; never changes `status`.
 * `userId` unset: unchanged, null: shared by every user. `routingParams` and `metadata` replace
 * the stored ones when given; `metadata: null` clears the metadata, `routingParams: null` is
 * refused (an instance always has routing parameters: send `{}` to clear them).
 */
@Lenient()
export class UpdateInstanceDto extends PickType(CreateInstanceDto, ['userId', 'apiIdentifier'] as const) {
  /** Replaces the stored routing parameters; must be an object (`{}` clears them), never null. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsObject({ message: 'routingParams must be an object (send {} to clear it)' })
  routingParams?: Record<string, unknown>;

  /** Replaces the stored metadata (free JSON, at most 16 KiB); `null` clears it. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;

  /** Replaces the stored endpoint (absolute http or https URL); `null` clears it. */
  @ApiPropertyOptional({ type: 'string', format: 'uri', maxLength: ENDPOINT_MAX_LENGTH, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(ENDPOINT_MAX_LENGTH)
  @IsUrl(ENDPOINT_URL, endpointMessage)
  endpoint?: string | null;
}

@Lenient()
export class InstanceKeyDto {
  @ApiProperty({ enum: API_TYPES })
  @IsIn(API_TYPES, { message: `apiType must be one of ${API_TYPES.join(', ')}` })
  apiType!: ApiType;

  @IsString() @Length(1, 128) businessId!: string;
}

/**
 * The body of `DELETE /api/instances/batch`: 1 to `GATEWAY_MAX_INSTANCES_PER_PROJECT` keys.
 * Validated by `BatchBodies`, in chunks.
 */
export class BatchDeleteInstancesDto {
  @ApiProperty({ type: [InstanceKeyDto], minItems: 1, maxItems: DEFAULT_INSTANCES_PER_PROJECT })
  @ApiMaxItemsFromConfig((config) => config.limits.instancesPerProject)
  instances!: InstanceKeyDto[];
}

export class InstanceQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: API_TYPES })
  @IsOptional()
  @IsIn(API_TYPES)
  apiType?: ApiType;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES)
  status?: InstanceStatus;

  @IsOptional() @IsString() @MaxLength(128) apiIdentifier?: string;

  @IsOptional() @IsString() @MaxLength(128) businessId?: string;

  @IsOptional() @IsString() @MaxLength(128) userId?: string;
}

export class InstancePageDto {
  @ApiProperty({ type: [InstanceDto] })
  items!: InstanceDto[];
  total!: number;
  page!: number;
  size!: number;
}

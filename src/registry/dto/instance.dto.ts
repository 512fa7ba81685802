import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { Lenient } from '../../common/validation.pipe';
import {
  API_TYPES,
  INSTANCE_STATUSES,
  type ApiType,
  type InstanceRecord,
  type InstanceStatus,
} from '../instance-record';

// Control characters in names break logs, headers and path parameters.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;
const printable = (field: string) => ({ message: `${field} must not contain control characters` });

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
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export function toInstanceDto(record: InstanceRecord): InstanceDto {
  return {
    id: record.id,
    projectId: record.projectId,
    userId: record.userId,
    apiIdentifier: record.apiIdentifier,
    apiType: record.apiType,
    businessId: record.businessId,
    routingParams: record.routingParams,
    status: record.status,
    metadata: record.metadata,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

/** [compat] An instance to register. Unknown properties are ignored, as the reference did. */
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
}

@Lenient()
export class BatchCreateInstancesDto {
  @ApiProperty({ type: [CreateInstanceDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => CreateInstanceDto)
  instances!: CreateInstanceDto[];
}

/**
 * [compat] The update of `PUT /api/instances/{apiType}/{businessId}`; never changes `status`.
 * `userId` unset: unchanged, null: shared by every user; `routingParams` and `metadata` replace
 * the stored ones when given.
 */
@Lenient()
export class UpdateInstanceDto extends PickType(CreateInstanceDto, [
  'userId',
  'apiIdentifier',
  'routingParams',
  'metadata',
] as const) {}

@Lenient()
export class InstanceKeyDto {
  @ApiProperty({ enum: API_TYPES })
  @IsIn(API_TYPES, { message: `apiType must be one of ${API_TYPES.join(', ')}` })
  apiType!: ApiType;

  @IsString() @Length(1, 128) businessId!: string;
}

@Lenient()
export class BatchDeleteInstancesDto {
  @ApiProperty({ type: [InstanceKeyDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => InstanceKeyDto)
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

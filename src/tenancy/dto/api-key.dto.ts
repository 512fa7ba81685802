import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayUnique, IsArray, IsDate, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import {
  API_KEY_SCOPES,
  API_KEY_STATUSES,
  type ApiKeyEntity,
  type ApiKeyScope,
  type ApiKeyStatus,
} from '../entities/api-key.entity';

/** An API key as listed: never the secret, only its first characters. */
export class ApiKeyDto {
  id!: string;
  /** The first characters of the key, e.g. `gw_Ab12Cd`. */
  prefix!: string;
  /** The prefix followed by a mask, e.g. `gw_Ab12Cd…`. */
  maskedKey!: string;
  description!: string | null;
  @ApiProperty({ enum: API_KEY_STATUSES })
  status!: ApiKeyStatus;
  /** Null: every scope. */
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, nullable: true })
  scopes!: ApiKeyScope[] | null;
  projectId!: string | null;
  expiresAt!: Date | null;
  lastUsedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

/** Returned once, at creation or rotation: `apiKeyValue` is the secret and is never shown again. */
export class CreatedApiKeyDto extends ApiKeyDto {
  apiKeyValue!: string;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyDto] })
  items!: ApiKeyDto[];
  total!: number;
  page!: number;
  size!: number;
}

export function toApiKeyDto(entity: ApiKeyEntity): ApiKeyDto {
  return {
    id: entity.id,
    prefix: entity.prefix,
    maskedKey: `${entity.prefix}…`,
    description: entity.description,
    status: entity.status,
    scopes: entity.scopes,
    projectId: entity.projectId,
    expiresAt: entity.expiresAt,
    lastUsedAt: entity.lastUsedAt,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}

export class IssueApiKeyDto {
  @IsOptional() @IsString() @MaxLength(200) description?: string;

  /** ISO 8601; the key stops authenticating then. */
  @IsOptional() @Type(() => Date) @IsDate() expiresAt?: Date;

  /** Unset: every scope. */
  @ApiPropertyOptional({ enum: API_KEY_SCOPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes?: ApiKeyScope[];
}

export class CreateApiKeyDto extends IssueApiKeyDto {
  /** Bind the key to this project at once (ACTIVE); unset: an UNUSED key for `POST /api/projects`. */
  @IsOptional()
  @Matches(/^[0-9a-f]{32}$/, { message: 'projectId must be 32 lowercase hex characters' })
  projectId?: string;
}

export class UpdateApiKeyDto extends IssueApiKeyDto {}

export class ApiKeyStatusDto {
  @ApiProperty({ enum: ['ACTIVE', 'REVOKED', 'EXPIRED'] })
  @IsIn(['ACTIVE', 'REVOKED', 'EXPIRED'])
  status!: Exclude<ApiKeyStatus, 'UNUSED'>;
}

export class ApiKeyQueryDto extends PageQueryDto {
  @IsOptional()
  @Matches(/^[0-9a-f]{32}$/, { message: 'projectId must be 32 lowercase hex characters' })
  projectId?: string;

  @ApiPropertyOptional({ enum: API_KEY_STATUSES })
  @IsOptional()
  @IsIn(API_KEY_STATUSES)
  status?: ApiKeyStatus;
}

export class ValidateApiKeyQueryDto {
  @IsString() @MaxLength(256) apiKey!: string;
}

export class ApiKeyValidationDto {
  valid!: boolean;
  @ApiPropertyOptional({ enum: API_KEY_STATUSES })
  status?: ApiKeyStatus;
  projectId?: string | null;
  /** Why the key would be refused: the error code the gateway would answer with. */
  reason?: string;
}

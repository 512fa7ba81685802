import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, MaxLength, ValidateNested } from 'class-validator';
import { Omittable } from '../../common/validation';
import { Type } from 'class-transformer';
import { PageQueryDto } from '../../common/pagination';
import { Lenient } from '../../common/validation.pipe';
import { PROJECT_STATUSES, type ProjectEntity, type ProjectStatus } from '../entities/project.entity';
import { ProjectSettings } from '../project-settings';

export class ProjectDto {
  /** 32 lowercase hex characters. */
  id!: string;
  name!: string;
  description!: string | null;
  @ApiProperty({ enum: PROJECT_STATUSES })
  status!: ProjectStatus;
  settings!: ProjectSettings;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ProjectPageDto {
  @ApiProperty({ type: [ProjectDto] })
  items!: ProjectDto[];
  total!: number;
  page!: number;
  size!: number;
}

export function toProjectDto(entity: ProjectEntity): ProjectDto {
  return {
    id: entity.id,
    name: entity.name,
    description: entity.description,
    status: entity.status,
    settings: entity.settings,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}

/** The reference's project creation [compat]: the key in the body is the credential. */
@Lenient()
export class CreateProjectWithKeyDto {
  @IsString() @Length(2, 50) name!: string;

  @IsOptional() @IsString() @MaxLength(200) description?: string;

  /** An issued key (`UNUSED`, or `ACTIVE` and already bound: then its project is returned). */
  @IsString() @Length(1, 256) apiKey!: string;
}

export class CreateProjectDto {
  @IsString() @Length(2, 50) name!: string;

  @IsOptional() @IsString() @MaxLength(200) description?: string;

  @IsOptional() @ValidateNested() @Type(() => ProjectSettings) settings?: ProjectSettings;
}

export class UpdateProjectDto {
  @Omittable() @IsString() @Length(2, 50) name?: string;

  @IsOptional() @IsString() @MaxLength(200) description?: string;
}

export class ProjectStatusDto {
  @ApiProperty({ enum: PROJECT_STATUSES })
  @IsIn(PROJECT_STATUSES)
  status!: ProjectStatus;
}

export class ProjectQueryDto extends PageQueryDto {
  /** Case-insensitive match on name or description. */
  @IsOptional() @IsString() @MaxLength(50) search?: string;

  @ApiPropertyOptional({ enum: PROJECT_STATUSES })
  @IsOptional()
  @IsIn(PROJECT_STATUSES)
  status?: ProjectStatus;
}

import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { CreateInstanceDto, InstanceDto, InstanceQueryDto } from './instance.dto';

const ID = /^[0-9a-f]{32}$/;

export class AdminCreateInstanceDto extends CreateInstanceDto {
  @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' })
  projectId!: string;
}

export class AdminInstanceQueryDto extends InstanceQueryDto {
  @IsOptional() @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' }) projectId?: string;
}

/** An instance with its project's name (the reference's `with-projects` view). */
export class InstanceWithProjectDto extends InstanceDto {
  projectName!: string;
}

export class InstanceWithProjectPageDto {
  @ApiProperty({ type: [InstanceWithProjectDto] })
  items!: InstanceWithProjectDto[];
  total!: number;
  page!: number;
  size!: number;
}

export class AdminInstancePageDto {
  @ApiProperty({ type: [InstanceDto] })
  items!: InstanceDto[];
  total!: number;
  page!: number;
  size!: number;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The reference gateway's health shape [compat]. */
export class HealthDto {
  @ApiProperty({ example: 'UP' })
  status!: string;

  @ApiProperty({ example: 'API Premium Gateway' })
  service!: string;

  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ description: 'Server time, epoch milliseconds' })
  timestamp!: number;
}

export class ProbeDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status!: string;

  @ApiPropertyOptional({
    description: 'Per dependency: `{ "database": { "status": "up" } }`',
    type: 'object',
    additionalProperties: true,
  })
  info?: Record<string, unknown>;
}

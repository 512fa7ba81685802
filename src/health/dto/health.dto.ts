import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ClusterHealthDto {
  @ApiProperty({ enum: ['single', 'cluster'], description: '`cluster` when `REDIS_URL` is set' })
  mode!: 'single' | 'cluster';

  @ApiProperty({
    enum: ['CONNECTED', 'DISCONNECTED'],
    description:
      'DISCONNECTED: Redis is unreachable; the node decides from its local state (readiness stays up) ' +
      'and resynchronises when Redis returns',
  })
  status!: 'CONNECTED' | 'DISCONNECTED';

  @ApiProperty({ description: 'Epoch ms of the last change of `status` (start-up on a single node)' })
  since!: number;

  @ApiProperty({ type: [String], description: 'Live nodes of the cluster, this one included' })
  nodes!: string[];

  @ApiProperty({ description: 'Times this node reloaded shared state after it may have missed messages' })
  resyncs!: number;
}

/** The reference gateway's health shape [compat], with the node and its cluster. */
export class HealthDto {
  @ApiProperty({ example: 'UP' })
  status!: string;

  @ApiProperty({ example: 'API Premium Gateway' })
  service!: string;

  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ description: 'Server time, epoch milliseconds' })
  timestamp!: number;

  @ApiProperty({ description: 'This node (`GATEWAY_NODE_ID`, default hostname-pid)', example: 'gw-a-4711' })
  node!: string;

  @ApiProperty({ description: 'Single node, or cluster mode and the state of its Redis link' })
  cluster!: ClusterHealthDto;
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

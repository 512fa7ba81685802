import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators';
import { Enveloped } from '../common/envelope.interceptor';
import { ApiEnvelope, ApiErrors } from '../common/api-envelope.decorator';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { GATEWAY_VERSION, SERVICE_NAME } from '../common/version';
import { ClusterStatus, InjectClusterStatus } from '../state/cluster-status';
import { HealthDto, ProbeDto } from './dto/health.dto';
import { ReadinessService } from './readiness.service';

@ApiTags('health')
@Public()
@Enveloped()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @InjectClock() private readonly clock: Clock,
    @InjectClusterStatus() private readonly cluster: ClusterStatus,
  ) {}

  /** The reference gateway's health check [compat]. */
  @Get()
  @ApiEnvelope(HealthDto)
  status(): HealthDto {
    const cluster = this.cluster;
    return {
      status: 'UP',
      service: SERVICE_NAME,
      version: GATEWAY_VERSION,
      timestamp: this.clock.now(),
      node: cluster.nodeId,
      cluster: {
        mode: cluster.mode,
        status: cluster.connected ? 'CONNECTED' : 'DISCONNECTED',
        since: cluster.since,
        nodes: [...cluster.nodes()],
        resyncs: cluster.resyncs,
      },
    };
  }

  /** Liveness: the process answers. Never touches a dependency. */
  @Get('live')
  @ApiEnvelope(ProbeDto)
  live(): ProbeDto {
    return { status: 'ok' };
  }

  /** Readiness: start-up finished and the database answers; 503 otherwise. */
  @Get('ready')
  @ApiEnvelope(ProbeDto)
  @ApiErrors('NOT_READY')
  async ready(): Promise<ProbeDto> {
    if (!this.readiness.isReady()) throw new GatewayError('NOT_READY', 'The gateway is starting or shutting down');
    try {
      const result = await this.health.check([() => this.database.pingCheck('database', { timeout: 2000 })]);
      return { status: result.status, info: result.info };
    } catch (error) {
      const details = (error as { response?: { error?: Record<string, unknown> } }).response?.error;
      throw new GatewayError('NOT_READY', 'A dependency is not answering', { details, cause: error });
    }
  }
}

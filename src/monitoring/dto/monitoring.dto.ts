import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { BREAKER_STATES, type BreakerStateName } from '../../circuit-breaker/breaker-transition';
import { API_TYPES, INSTANCE_STATUSES, type ApiType, type InstanceStatus } from '../../registry/instance-record';

const ID = /^[0-9a-f]{32}$/;
const ID_MESSAGE = (field: string): string => `${field} must be 32 lowercase hex characters`;

/** The reference's gateway status of an instance, computed from the breaker and recent outcomes. */
export const GATEWAY_STATUSES = ['HEALTHY', 'DEGRADED', 'FAULTY', 'CIRCUIT_BREAKER_OPEN'] as const;
export type GatewayStatus = (typeof GATEWAY_STATUSES)[number];

export const TIME_RANGES = ['1h', '6h', '24h', '7d'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

export const TIME_WINDOWS = ['1m', '10m', '30m', '1h', '6h', '24h'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

export class MonitoringOverviewQueryDto {
  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;
}

export class MonitoringInstancesQueryDto {
  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES, { message: `status must be one of ${INSTANCE_STATUSES.join(', ')}` })
  status?: InstanceStatus;

  @ApiPropertyOptional({ enum: GATEWAY_STATUSES })
  @IsOptional()
  @IsIn(GATEWAY_STATUSES, { message: `gatewayStatus must be one of ${GATEWAY_STATUSES.join(', ')}` })
  gatewayStatus?: GatewayStatus;
}

export class TimeSeriesQueryDto {
  /** 1h (5-minute buckets), 6h (15), 24h (60), 7d (240). */
  @ApiPropertyOptional({ enum: TIME_RANGES, default: '24h' })
  @IsOptional()
  @IsIn(TIME_RANGES, { message: `timeRange must be one of ${TIME_RANGES.join(', ')}` })
  timeRange: TimeRange = '24h';

  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;

  @IsOptional() @Matches(ID, { message: ID_MESSAGE('instanceId') }) instanceId?: string;
}

export class ObservationQueryDto {
  @ApiPropertyOptional({ enum: TIME_WINDOWS, default: '1h' })
  @IsOptional()
  @IsIn(TIME_WINDOWS, { message: `timeWindow must be one of ${TIME_WINDOWS.join(', ')}` })
  timeWindow: TimeWindow = '1h';

  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES, { message: `instanceStatus must be one of ${INSTANCE_STATUSES.join(', ')}` })
  instanceStatus?: InstanceStatus;

  @ApiPropertyOptional({ enum: GATEWAY_STATUSES })
  @IsOptional()
  @IsIn(GATEWAY_STATUSES, { message: `gatewayStatus must be one of ${GATEWAY_STATUSES.join(', ')}` })
  gatewayStatus?: GatewayStatus;
}

/** Project-key variants: the project is the key's. */
export class ProjectTimeSeriesQueryDto extends OmitType(TimeSeriesQueryDto, ['projectId'] as const) {}

export class ProjectInstancesQueryDto extends OmitType(MonitoringInstancesQueryDto, ['projectId'] as const) {}

/** [reference shape] Monitoring overview over the last 10 minutes, plus the gateway's own fields. */
export class MonitoringOverviewDto {
  totalInstances!: number;
  /** Instances whose gateway status is HEALTHY now. */
  healthyInstances!: number;
  activeInstances!: number;
  /** Percent of calls that succeeded in the window (call-weighted); 0 without calls. */
  averageSuccessRate!: number;
  /** Mean reported latency in the window, ms (call-weighted); 0 without calls. */
  averageLatency!: number;
  totalCalls!: number;
  /** Instances whose breaker is OPEN, HALF_OPEN or FORCED_OPEN now. */
  openBreakers!: number;
  totalSelections!: number;
  totalTokens!: number;
  totalCost!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  windowMinutes!: number;
}

export class QuotaUseDto {
  @ApiProperty({ type: 'integer', nullable: true })
  limit!: number | null;
  used!: number;
}

/** [reference shape] One instance in the monitoring list, plus live breaker, lease and quota state. */
export class InstanceMonitoringDto {
  instanceId!: string;
  projectId!: string;
  projectName?: string;
  businessId!: string;
  apiIdentifier!: string;
  @ApiProperty({ enum: API_TYPES })
  apiType!: ApiType;
  @ApiProperty({ enum: INSTANCE_STATUSES })
  status!: InstanceStatus;
  @ApiProperty({ enum: GATEWAY_STATUSES })
  gatewayStatus!: GatewayStatus;
  /** Percent of the calls in the last 60 s that succeeded; 0 without calls. */
  successRate!: number;
  failureRate!: number;
  /** Mean latency of the calls in the last 60 s, ms. */
  averageLatency!: number;
  /** Open leases (the reference's never-updated field, now live). */
  concurrency!: number;
  /** Calls reported in the last 60 s. */
  recentCalls!: number;
  successCount!: number;
  failureCount!: number;
  /** ISO-8601; absent when never reported. */
  lastReportedAt?: string;
  priority!: number;
  costPerUnit!: number;
  weight!: number;
  @ApiProperty({ enum: BREAKER_STATES })
  breakerState!: BreakerStateName;
  breakerReason!: string;
  /** p99 of the last 10 minutes, ms; null without calls. */
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  openLeases!: number;
  rpm!: QuotaUseDto;
  tpm!: QuotaUseDto;
  @ApiProperty({ type: String, nullable: true })
  coolDownUntil!: string | null;
  /** Whether select-instance may offer it now. */
  selectable!: boolean;
  unavailableReason?: string;
}

/** [reference shape] A point of a time series: `time` is the bucket's "HH:mm" (UTC). */
export class TimePointDto {
  time!: string;
  value!: number;
}

/** One zero-filled bucket of the time series with every figure the gateway keeps. */
export class SeriesPointDto {
  /** Bucket start, epoch ms. */
  timestamp!: number;
  /** Bucket start, ISO-8601. */
  time!: string;
  calls!: number;
  successes!: number;
  failures!: number;
  selections!: number;
  @ApiProperty({ type: Number, nullable: true })
  successRate!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  averageLatency!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p50LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  totalTokens!: number;
  cost!: number;
}

/** [reference shape] `callVolume`, `successRate`, `latency` (buckets with data only), plus `points`. */
export class TimeSeriesDto {
  @ApiProperty({ type: [TimePointDto] })
  callVolume!: TimePointDto[];
  @ApiProperty({ type: [TimePointDto] })
  successRate!: TimePointDto[];
  @ApiProperty({ type: [TimePointDto] })
  latency!: TimePointDto[];
  bucketMinutes!: number;
  /** Every bucket of the range, ascending, zero-filled. */
  @ApiProperty({ type: [SeriesPointDto] })
  points!: SeriesPointDto[];
}

/** [reference shape] Observation overview for a time window, plus the gateway's own fields. */
export class ObservationOverviewDto {
  totalInstances!: number;
  healthyInstances!: number;
  activeInstances!: number;
  faultyInstances!: number;
  circuitBreakerInstances!: number;
  totalCallCount!: number;
  /** Mean over instances with calls of each one's success percent. */
  averageSuccessRate!: number;
  /** Mean over instances with calls of each one's average latency, ms. */
  averageLatency!: number;
  degradedInstances!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  @ApiProperty({ enum: TIME_WINDOWS })
  timeWindow!: TimeWindow;
}

/** [reference shape] One instance of the observation table, plus ids and the gateway's own fields. */
export class InstanceObservationDto {
  projectName?: string;
  apiIdentifier!: string;
  @ApiProperty({ enum: API_TYPES })
  apiType!: ApiType;
  businessId!: string;
  @ApiProperty({ enum: INSTANCE_STATUSES })
  instanceStatus!: InstanceStatus;
  @ApiProperty({ enum: GATEWAY_STATUSES })
  gatewayStatus!: GatewayStatus;
  callCount!: number;
  successRate!: number;
  averageLatency!: number;
  /** ISO-8601 of the last report in the window; absent without one. */
  lastActiveTime?: string;
  instanceId!: string;
  projectId!: string;
  failureCount!: number;
  rateLimitedCount!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  totalTokens!: number;
  cost!: number;
  @ApiProperty({ enum: BREAKER_STATES })
  breakerState!: BreakerStateName;
}

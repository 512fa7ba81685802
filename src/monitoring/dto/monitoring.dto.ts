import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsOptional, Matches } from 'class-validator';
import { BREAKER_STATES, type BreakerStateName } from '../../circuit-breaker/breaker-transition';
import { API_TYPES, INSTANCE_STATUSES, type ApiType, type InstanceStatus } from '../../registry/instance-record';

const ID = /^[0-9a-f]{32}$/;
const ID_MESSAGE = (field: string): string => `${field} must be 32 lowercase hex characters`;

/** The reference's gateway status of an instance, computed from the breaker and recent outcomes. */
export const GATEWAY_STATUSES = ['HEALTHY', 'DEGRADED', 'FAULTY', 'CIRCUIT_BREAKER_OPEN'] as const;
export type GatewayStatus = (typeof GATEWAY_STATUSES)[number];

import { TIME_RANGES, TIME_WINDOWS, type TimeRange, type TimeWindow } from '../figures';

export { TIME_RANGES, TIME_WINDOWS, type TimeRange, type TimeWindow };

/** Most instances one side-by-side series request may name. */
export const MAX_SERIES_INSTANCES = 50;

const WINDOW_MESSAGE = `timeWindow must be one of ${TIME_WINDOWS.join(', ')}`;

export class MonitoringOverviewQueryDto {
  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;

  /** The window of every figure (docs/figures.md): the N whole minutes before the current one, and the current one. */
  @ApiPropertyOptional({ enum: TIME_WINDOWS, default: '10m' })
  @IsOptional()
  @IsIn(TIME_WINDOWS, { message: WINDOW_MESSAGE })
  timeWindow: TimeWindow = '10m';
}

export class MonitoringInstancesQueryDto {
  @IsOptional() @Matches(ID, { message: ID_MESSAGE('projectId') }) projectId?: string;

  /** The window of every figure of a row (docs/figures.md); live state (breaker, leases, quotas) is now. */
  @ApiPropertyOptional({ enum: TIME_WINDOWS, default: '10m' })
  @IsOptional()
  @IsIn(TIME_WINDOWS, { message: WINDOW_MESSAGE })
  timeWindow: TimeWindow = '10m';

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
  /** 1h (1-minute points), 6h (5), 24h (15), 7d (60). */
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
  @IsIn(TIME_WINDOWS, { message: WINDOW_MESSAGE })
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

export class ProjectOverviewQueryDto extends OmitType(MonitoringOverviewQueryDto, ['projectId'] as const) {}

export class FleetQueryDto {
  /** The window of the fleet's call figures (docs/figures.md); breakers and statuses are now. */
  @ApiPropertyOptional({ enum: TIME_WINDOWS, default: '10m' })
  @IsOptional()
  @IsIn(TIME_WINDOWS, { message: WINDOW_MESSAGE })
  timeWindow: TimeWindow = '10m';
}

/** `a,b,c` → `['a', 'b', 'c']` (a repeated parameter is accepted too). */
const commaList = ({ value }: { value: unknown }): unknown => {
  const parts: unknown = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(parts)) return parts;
  // Distinct: the cap counts instances, not repetitions.
  return [
    ...new Set(
      (parts as unknown[])
        .flatMap((part) => (typeof part === 'string' ? part.split(',') : [part]))
        .filter((id) => id !== ''),
    ),
  ];
};

export class InstanceSeriesQueryDto {
  /** Comma-separated instance ids (32 hex each), 1 to 50 distinct (repeats count once). */
  @ApiProperty({ type: String, example: '0f1e2d3c4b5a69788796a5b4c3d2e1f0,a1b2c3d4e5f60718293a4b5c6d7e8f90' })
  @Transform(commaList)
  @ArrayMinSize(1, { message: 'instanceIds must name at least one instance' })
  @ArrayMaxSize(MAX_SERIES_INSTANCES, { message: `instanceIds may name at most ${MAX_SERIES_INSTANCES} instances` })
  @Matches(ID, { each: true, message: 'instanceIds must be 32 lowercase hex characters each' })
  instanceIds!: string[];

  /** 1h (1-minute points), 6h (5), 24h (15), 7d (60). */
  @ApiPropertyOptional({ enum: TIME_RANGES, default: '1h' })
  @IsOptional()
  @IsIn(TIME_RANGES, { message: `timeRange must be one of ${TIME_RANGES.join(', ')}` })
  timeRange: TimeRange = '1h';
}

/** [reference shape] Monitoring overview over a window (default 10m), plus the gateway's own fields. */
export class MonitoringOverviewDto {
  totalInstances!: number;
  /** Instances whose gateway status is HEALTHY now. */
  healthyInstances!: number;
  activeInstances!: number;
  /** Percent of the window's calls that succeeded (call-weighted, as `successRate` everywhere); 0 without calls. */
  averageSuccessRate!: number;
  /** Mean reported latency of the window's calls, ms (call-weighted); 0 without calls. */
  averageLatency!: number;
  totalCalls!: number;
  /** Instances whose breaker is OPEN, HALF_OPEN or FORCED_OPEN now. */
  openBreakers!: number;
  totalSelections!: number;
  totalTokens!: number;
  /** Reported cost, else `costPerUnit` × reported tokens, summed over the window. */
  totalCost!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  /** Length of the window in whole minutes (the current minute so far comes on top). */
  windowMinutes!: number;
  /** The window every figure here is computed over. */
  @ApiProperty({ enum: TIME_WINDOWS })
  window!: TimeWindow;
  /** Start of the window's oldest minute, ISO-8601. */
  windowStart!: string;
  /** End of the window (the time of the answer), ISO-8601. */
  windowEnd!: string;
  @ApiProperty({ type: Number, nullable: true })
  p50LatencyMs!: number | null;
  /** Percent of calls that failed on the backend (SERVER_ERROR, TIMEOUT, UNKNOWN). */
  failureRate!: number;
  /** Percent of calls the backend rate-limited. */
  rateLimitedRate!: number;
  /** Percent of calls the caller got wrong (CLIENT_ERROR, AUTH_ERROR). */
  callerErrorRate!: number;
}

export class QuotaUseDto {
  @ApiProperty({ type: 'integer', nullable: true })
  limit!: number | null;
  /**
   * With a limit: what counts against it in the rolling minute (selections for rpm, tokens for
   * tpm). Without a limit: calls (rpm) or tokens (tpm) reported in the last 60 s.
   */
  used!: number;
}

/** The last report of an instance that was not a SUCCESS (this node's memory; null when none since start). */
export class LastErrorDto {
  /** ISO-8601 of when it was reported. */
  at!: string;
  @ApiProperty({ enum: ['SERVER_ERROR', 'TIMEOUT', 'RATE_LIMITED', 'AUTH_ERROR', 'CLIENT_ERROR', 'UNKNOWN'] })
  outcome!: string;
  statusCode?: number;
  /** The reported error message, at most 300 characters. */
  message?: string;
}

/** Calls per non-success outcome class over the row's window. */
export class ErrorClassesDto {
  SERVER_ERROR!: number;
  TIMEOUT!: number;
  RATE_LIMITED!: number;
  AUTH_ERROR!: number;
  CLIENT_ERROR!: number;
  UNKNOWN!: number;
}

/**
 * [reference shape] One instance in the monitoring list, plus live breaker, lease and quota state.
 * Every call figure is over `window` (default 10m); `gatewayStatus`, breaker, leases and quotas are now.
 */
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
  /** Now, from the breaker and the last 60 s (see docs/figures.md). */
  @ApiProperty({ enum: GATEWAY_STATUSES })
  gatewayStatus!: GatewayStatus;
  /** Percent of the window's calls that succeeded; 0 without calls. */
  successRate!: number;
  /** Percent of the window's calls that failed on the backend (SERVER_ERROR, TIMEOUT, UNKNOWN) — not 100 − successRate. */
  failureRate!: number;
  /** Mean reported latency of the window's calls, ms; 0 without calls. */
  averageLatency!: number;
  /** Open leases (the reference's never-updated field, now live). */
  concurrency!: number;
  /** Calls reported in the window. */
  recentCalls!: number;
  successCount!: number;
  /** Backend failures in the window. */
  failureCount!: number;
  /** ISO-8601; absent when never reported. */
  lastReportedAt?: string;
  priority!: number;
  costPerUnit!: number;
  weight!: number;
  @ApiProperty({ enum: BREAKER_STATES })
  breakerState!: BreakerStateName;
  breakerReason!: string;
  /** p99 of the window's calls, ms; null without calls. */
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
  /** The window of every call figure of this row. */
  @ApiProperty({ enum: TIME_WINDOWS })
  window!: TimeWindow;
  /** Start of the window's oldest minute, ISO-8601. */
  windowStart!: string;
  /** Percent of the window's calls the backend rate-limited. */
  rateLimitedRate!: number;
  /** Percent of the window's calls the caller got wrong (CLIENT_ERROR, AUTH_ERROR). */
  callerErrorRate!: number;
  rateLimitedCount!: number;
  callerErrorCount!: number;
  @ApiProperty({ type: Number, nullable: true })
  p50LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  totalTokens!: number;
  /** Reported cost, else `costPerUnit` × reported tokens, over the window. */
  cost!: number;
  /** Calls per non-success outcome class in the window. */
  errorClasses!: ErrorClassesDto;
  @ApiProperty({ type: LastErrorDto, nullable: true })
  lastError!: LastErrorDto | null;
  /** When an OPEN breaker lets its next probe through, ISO-8601; null otherwise. */
  @ApiProperty({ type: String, nullable: true })
  nextProbeAt!: string | null;
  /** This instance's percent of the window's calls to its project's apiIdentifier (same apiType); 0 without calls. */
  trafficSharePercent!: number;
  /**
   * The selection's latency estimate now (peak-EWMA, failures penalised), ms: a score for ranking
   * instances, not an average of reported latencies.
   */
  latencyScoreMs!: number;
}

/** [reference shape] A point of a time series: `time` is the bucket's "HH:mm" (UTC). */
export class TimePointDto {
  time!: string;
  value!: number;
}

/** One zero-filled bucket of the time series with every figure the gateway keeps, over that bucket. */
export class SeriesPointDto {
  /** Bucket start, epoch ms. */
  timestamp!: number;
  /** Bucket start, ISO-8601. */
  time!: string;
  calls!: number;
  successes!: number;
  /** Backend failures (SERVER_ERROR, TIMEOUT, UNKNOWN). */
  failures!: number;
  selections!: number;
  @ApiProperty({ type: Number, nullable: true })
  successRate!: number | null;
  /** Mean reported latency, ms. */
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
  rateLimited!: number;
  callerErrors!: number;
  @ApiProperty({ type: Number, nullable: true })
  failureRate!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  rateLimitedRate!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  callerErrorRate!: number | null;
}

/** [reference shape] `callVolume`, `successRate`, `latency` (buckets with data only), plus `points`. */
export class TimeSeriesDto {
  @ApiProperty({ type: [TimePointDto] })
  callVolume!: TimePointDto[];
  @ApiProperty({ type: [TimePointDto] })
  successRate!: TimePointDto[];
  @ApiProperty({ type: [TimePointDto] })
  latency!: TimePointDto[];
  /** Size of a point: 1 (1h), 5 (6h), 15 (24h), 60 (7d) minutes; each point's figures are over its bucket. */
  bucketMinutes!: number;
  /** Every bucket of the range, ascending, zero-filled. */
  @ApiProperty({ type: [SeriesPointDto] })
  points!: SeriesPointDto[];
  @ApiProperty({ enum: TIME_RANGES })
  timeRange!: TimeRange;
}

/** One instance's points, for charts side by side. */
export class InstanceSeriesDto {
  instanceId!: string;
  businessId!: string;
  /** Size of a point in minutes. */
  bucketMinutes!: number;
  @ApiProperty({ type: [SeriesPointDto] })
  points!: SeriesPointDto[];
}

/** [reference shape] Observation overview for a time window, plus the gateway's own fields. */
export class ObservationOverviewDto {
  totalInstances!: number;
  /** Instances whose gateway status is HEALTHY now (as the monitoring overview counts). */
  healthyInstances!: number;
  activeInstances!: number;
  faultyInstances!: number;
  circuitBreakerInstances!: number;
  totalCallCount!: number;
  /** Percent of the window's calls that succeeded, call-weighted — the monitoring overview's figure for the same window. */
  averageSuccessRate!: number;
  /** Mean reported latency of the window's calls, ms (call-weighted). */
  averageLatency!: number;
  degradedInstances!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  @ApiProperty({ enum: TIME_WINDOWS })
  timeWindow!: TimeWindow;
  /** Same as `timeWindow`: the window every figure here is computed over. */
  @ApiProperty({ enum: TIME_WINDOWS })
  window!: TimeWindow;
  /** Start of the window's oldest minute, ISO-8601. */
  windowStart!: string;
  /** End of the window (the time of the answer), ISO-8601. */
  windowEnd!: string;
  failureRate!: number;
  rateLimitedRate!: number;
  callerErrorRate!: number;
  totalTokens!: number;
  totalCost!: number;
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
  /** Mean reported latency, ms. */
  averageLatency!: number;
  /** ISO-8601 of the last report in the window; absent without one. */
  lastActiveTime?: string;
  instanceId!: string;
  projectId!: string;
  /** Backend failures (SERVER_ERROR, TIMEOUT, UNKNOWN). */
  failureCount!: number;
  rateLimitedCount!: number;
  @ApiProperty({ type: Number, nullable: true })
  p95LatencyMs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p99LatencyMs!: number | null;
  totalTokens!: number;
  /** Reported cost, else `costPerUnit` × reported tokens. */
  cost!: number;
  @ApiProperty({ enum: BREAKER_STATES })
  breakerState!: BreakerStateName;
  @ApiProperty({ enum: TIME_WINDOWS })
  window!: TimeWindow;
  failureRate!: number;
  rateLimitedRate!: number;
  callerErrorRate!: number;
  callerErrorCount!: number;
  @ApiProperty({ type: Number, nullable: true })
  p50LatencyMs!: number | null;
}

/** Fleet totals over the window. */
export class FleetTotalsDto {
  projects!: number;
  instances!: number;
  openBreakers!: number;
  degradedApis!: number;
  calls!: number;
  /** Percent of the window's calls that succeeded; 0 without calls. */
  successRate!: number;
}

export class FleetProjectDto {
  projectId!: string;
  name!: string;
  instances!: number;
  openBreakers!: number;
  degradedApis!: number;
  calls!: number;
  successRate!: number;
}

export class FleetOpenBreakerDto {
  instanceId!: string;
  projectId!: string;
  businessId!: string;
  apiIdentifier!: string;
  @ApiProperty({ enum: BREAKER_STATES })
  state!: BreakerStateName;
  reason!: string;
  /** When the state began, ISO-8601; null when unknown. */
  @ApiProperty({ type: String, nullable: true })
  since!: string | null;
  /** When an OPEN breaker lets its next probe through, ISO-8601; null otherwise (HALF_OPEN probes now, FORCED_OPEN waits for an operator). */
  @ApiProperty({ type: String, nullable: true })
  nextProbeAt!: string | null;
}

/** A project's apiIdentifier (one apiType) with an ACTIVE instance that is not HEALTHY now. */
export class FleetDegradedApiDto {
  projectId!: string;
  apiIdentifier!: string;
  @ApiProperty({ enum: API_TYPES })
  apiType!: ApiType;
  /** ACTIVE instances. */
  instances!: number;
  /** ACTIVE instances select-instance may offer now. */
  available!: number;
  /** Over the window; null without calls. */
  @ApiProperty({ type: Number, nullable: true })
  successRate!: number | null;
}

export class FleetErrorClassDto {
  @ApiProperty({ enum: ['SERVER_ERROR', 'TIMEOUT', 'RATE_LIMITED', 'AUTH_ERROR', 'CLIENT_ERROR', 'UNKNOWN'] })
  outcome!: string;
  calls!: number;
}

/** Every project at a glance: totals, per project, open breakers, degraded APIs, top error classes. */
export class FleetDto {
  @ApiProperty({ enum: TIME_WINDOWS })
  window!: TimeWindow;
  /** Start of the window's oldest minute, ISO-8601. */
  windowStart!: string;
  /** ISO-8601 time of the answer (the window's end). */
  generatedAt!: string;
  totals!: FleetTotalsDto;
  @ApiProperty({ type: [FleetProjectDto] })
  projects!: FleetProjectDto[];
  @ApiProperty({ type: [FleetOpenBreakerDto] })
  openBreakers!: FleetOpenBreakerDto[];
  @ApiProperty({ type: [FleetDegradedApiDto] })
  degradedApis!: FleetDegradedApiDto[];
  /** Non-success classes with calls in the window, most calls first. */
  @ApiProperty({ type: [FleetErrorClassDto] })
  topErrorClasses!: FleetErrorClassDto[];
}

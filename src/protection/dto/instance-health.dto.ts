import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { BREAKER_STATES, type BreakerStateName } from '../../circuit-breaker/breaker-transition';
import type { OutcomeClass } from '../../common/outcome';
import { INSTANCE_STATUSES, type InstanceStatus } from '../../registry/instance-record';

/** A breaker's effective thresholds (project settings and instance overrides applied). */
export class BreakerConfigDto {
  consecutiveFailures!: number;
  failureRatePercent!: number;
  minimumCalls!: number;
  windowMs!: number;
  openMs!: number;
  maxOpenMs!: number;
  halfOpenProbes!: number;
  /** Slow-call rule threshold; null when the rule is off. */
  @ApiProperty({ type: 'integer', nullable: true })
  slowCallMs!: number | null;
  slowCallRatePercent!: number;
  /** How long an AUTH_ERROR opens the breaker at once. */
  authOpenMs!: number;
}

/** Calls the breaker counts in its window (SUCCESS and failures; RATE_LIMITED and CLIENT_ERROR never count). */
export class BreakerWindowDto {
  calls!: number;
  failures!: number;
  slow!: number;
}

export class BreakerHealthDto {
  @ApiProperty({ enum: BREAKER_STATES })
  state!: BreakerStateName;
  /** Why it is in this state: "5 consecutive SERVER_ERROR", "operator: FORCED_OPEN". */
  reason!: string;
  /** When the state began (ISO-8601); null for an instance never reported. */
  @ApiProperty({ type: String, nullable: true })
  since!: string | null;
  /** OPEN: when probing starts (ISO-8601). */
  @ApiProperty({ type: String, nullable: true })
  nextProbeAt!: string | null;
  /** Consecutive trips: the open-time multiplier (falls by one per healthy minute). */
  trips!: number;
  consecutiveFailures!: number;
  probesInFlight!: number;
  probeSuccesses!: number;
  window!: BreakerWindowDto;
  config!: BreakerConfigDto;
}

export class QuotaUsageDto {
  /** null when the instance has no such limit. */
  @ApiProperty({ type: 'integer', nullable: true })
  limit!: number | null;
  /** Used in the rolling minute (decisions for RPM; reserved and reported tokens for TPM). */
  used!: number;
}

export class ConcurrencyDto {
  @ApiProperty({ type: 'integer', nullable: true })
  limit!: number | null;
  /** Open leases: selections not yet reported or expired. */
  open!: number;
}

export class InstanceQuotasDto {
  rpm!: QuotaUsageDto;
  tpm!: QuotaUsageDto;
  concurrency!: ConcurrencyDto;
  /** Until when a RATE_LIMITED report keeps the instance out (ISO-8601), or null. */
  @ApiProperty({ type: String, nullable: true })
  coolDownUntil!: string | null;
}

/** Reports in the window per outcome class (docs/resilience.md §1). */
export class OutcomeCountsDto implements Record<OutcomeClass, number> {
  SUCCESS!: number;
  SERVER_ERROR!: number;
  TIMEOUT!: number;
  RATE_LIMITED!: number;
  AUTH_ERROR!: number;
  CLIENT_ERROR!: number;
  UNKNOWN!: number;
}

/** The rolling 60 s window of reports. */
export class WindowStatsDto {
  calls!: number;
  successes!: number;
  failures!: number;
  byOutcome!: OutcomeCountsDto;
  promptTokens!: number;
  completionTokens!: number;
  totalTokens!: number;
  cost!: number;
}

/** What the gateway knows of an instance's health now. */
export class InstanceHealthDto {
  instanceId!: string;
  businessId!: string;
  @ApiProperty({ enum: INSTANCE_STATUSES })
  status!: InstanceStatus;
  /** Whether select-instance may offer it now. */
  selectable!: boolean;
  /** Why not, when it is not selectable. */
  reason?: string;
  /** When it may be selectable again (ISO-8601), when known. */
  retryAt?: string;
  breaker!: BreakerHealthDto;
  quotas!: InstanceQuotasDto;
  window!: WindowStatsDto;
  /** Peak-EWMA latency, ms (failures penalised; 1000 before the first report). */
  latencyMs!: number;
  @ApiPropertyOptional({ type: Number, nullable: true })
  ttftMs!: number | null;
  /** 0.1 → 1 during the slow start after a recovery. */
  slowStartFactor!: number;
  /** Last report (ISO-8601), or null. */
  @ApiProperty({ type: String, nullable: true })
  lastReportAt!: string | null;
}

export const CIRCUIT_COMMANDS = ['FORCED_OPEN', 'DISABLED', 'AUTO'] as const;
export type CircuitCommand = (typeof CIRCUIT_COMMANDS)[number];

/** An operator's override of an instance's breaker. */
export class CircuitCommandDto {
  /** FORCED_OPEN keeps it out, DISABLED keeps it in (never trips), AUTO hands back to a fresh breaker. */
  @ApiProperty({ enum: CIRCUIT_COMMANDS })
  @IsIn(CIRCUIT_COMMANDS, { message: `state must be one of ${CIRCUIT_COMMANDS.join(', ')}` })
  state!: CircuitCommand;
}

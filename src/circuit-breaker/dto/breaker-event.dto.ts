import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches, ValidateBy, type ValidationArguments, isISO8601 } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { BREAKER_STATES, type BreakerStateName } from '../breaker-transition';
import type { BreakerEventEntity } from '../breaker-event.entity';

const ID = /^[0-9a-f]{32}$/;
/** A date-time with an explicit offset: a bare date or a local time would be ambiguous. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO-8601 date-time with a time zone, a real calendar date (one message, not one per check). */
function IsDateTime(): PropertyDecorator {
  return ValidateBy({
    name: 'isDateTime',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && DATE_TIME.test(value) && isISO8601(value, { strict: true }),
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property ?? 'value'} must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T00:00:00Z`,
    },
  });
}

/** `since` must not be later than `until` (checked only when both are valid date-times). */
function NotAfterUntil(): PropertyDecorator {
  return ValidateBy({
    name: 'notAfterUntil',
    validator: {
      validate: (since: unknown, args?: ValidationArguments) => {
        const until = (args?.object as BreakerEventQueryDto | undefined)?.until;
        if (typeof since !== 'string' || typeof until !== 'string') return true;
        const from = Date.parse(since);
        const to = Date.parse(until);
        return Number.isNaN(from) || Number.isNaN(to) || from <= to;
      },
      defaultMessage: () => 'since must not be later than until',
    },
  });
}

/** One breaker transition of the durable log. */
export class BreakerEventDto {
  id!: string;
  projectId!: string;
  instanceId!: string;
  @ApiProperty({ enum: BREAKER_STATES })
  from!: BreakerStateName;
  @ApiProperty({ enum: BREAKER_STATES })
  to!: BreakerStateName;
  /** Why, for a person: "5 consecutive SERVER_ERROR", "operator: FORCED_OPEN". */
  reason!: string;
  /**
   * Who made it: `system` for the breaker's own transitions, `admin:<username>` for an operator's
   * (`operator` when it was not recorded who).
   */
  actor!: string;
  /** When the transition took effect. */
  @ApiProperty({ format: 'date-time' })
  at!: string;
}

export class BreakerEventPageDto {
  @ApiProperty({ type: [BreakerEventDto] })
  items!: BreakerEventDto[];
  total!: number;
  page!: number;
  size!: number;
}

/** Filters of `GET /api/admin/breaker-events`; the newest events come first. */
export class BreakerEventQueryDto extends PageQueryDto {
  @IsOptional() @Matches(ID, { message: 'projectId must be 32 lowercase hex characters' }) projectId?: string;

  @IsOptional() @Matches(ID, { message: 'instanceId must be 32 lowercase hex characters' }) instanceId?: string;

  /** Only transitions into this state. */
  @ApiPropertyOptional({ enum: BREAKER_STATES })
  @IsOptional()
  @IsIn(BREAKER_STATES, { message: `state must be one of ${BREAKER_STATES.join(', ')}` })
  state?: BreakerStateName;

  /** Inclusive lower bound, ISO-8601 date-time (e.g. `2026-01-01T00:00:00Z`). */
  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateTime()
  @NotAfterUntil()
  since?: string;

  /** Inclusive upper bound, ISO-8601 date-time. */
  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateTime()
  until?: string;
}

export function toBreakerEventDto(entity: BreakerEventEntity): BreakerEventDto {
  return {
    id: entity.id,
    projectId: entity.projectId,
    instanceId: entity.instanceId,
    from: entity.fromState,
    to: entity.toState,
    reason: entity.reason,
    actor: entity.actor,
    at: entity.at.toISOString(),
  };
}

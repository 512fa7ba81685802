import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { BreakerStateName } from './breaker-transition';

/** One breaker transition as stored in `breaker_events` (the durable, write-behind log). */
@Entity('breaker_events')
@Index('ix_breaker_events_project_at', ['projectId', 'at'])
@Index('ix_breaker_events_instance_at', ['instanceId', 'at'])
@Index('ix_breaker_events_at', ['at'])
export class BreakerEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ name: 'project_id', type: 'varchar', length: 32 })
  projectId!: string;

  /** Not a foreign key: the history of a deleted instance is kept. */
  @Column({ name: 'instance_id', type: 'varchar', length: 32 })
  instanceId!: string;

  @Column({ name: 'from_state', type: 'varchar', length: 16 })
  fromState!: BreakerStateName;

  @Column({ name: 'to_state', type: 'varchar', length: 16 })
  toState!: BreakerStateName;

  @Column({ type: 'varchar', length: 255 })
  reason!: string;

  /** Who made it: `system` (the machine), `admin:<username>` (an operator), `operator` (one not named). */
  @Column({ type: 'varchar', length: 80, default: 'system' })
  actor!: string;

  /** When the transition took effect (millisecond precision on both dialects). */
  @Column({ type: 'datetime', precision: 3 })
  at!: Date;
}

import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ApiType, InstanceStatus } from '../instance-record';

@Entity('api_instances')
@Index('uq_api_instances_project_type_business', ['projectId', 'apiType', 'businessId'], { unique: true })
@Index('ix_api_instances_project_type_identifier', ['projectId', 'apiType', 'apiIdentifier'])
@Index('ix_api_instances_project_status', ['projectId', 'status'])
export class ApiInstanceEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ name: 'project_id', type: 'varchar', length: 32 })
  projectId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 128, nullable: true })
  userId!: string | null;

  @Column({ name: 'api_identifier', type: 'varchar', length: 128 })
  apiIdentifier!: string;

  @Column({ name: 'api_type', type: 'varchar', length: 32 })
  apiType!: ApiType;

  @Column({ name: 'business_id', type: 'varchar', length: 128 })
  businessId!: string;

  /**
   * The JSON text as stored, never parsed on read: the index keeps it as text
   * (`StoredInstanceRecord`) and parses it only when something asks.
   */
  @Column({ name: 'routing_params', type: 'text' })
  routingParamsJson!: string;

  /** The JSON text, or null when the instance has no metadata. */
  @Column({ name: 'metadata', type: 'text', nullable: true })
  metadataJson!: string | null;

  /** The URL to call, when registered with one. */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  endpoint!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: InstanceStatus;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

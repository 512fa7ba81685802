import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ProjectSettings } from '../project-settings';

export const PROJECT_STATUSES = ['ACTIVE', 'INACTIVE'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

@Entity('projects')
export class ProjectEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ProjectStatus;

  @Column({ type: 'simple-json' })
  settings!: ProjectSettings;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

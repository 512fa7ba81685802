import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A key/value setting generated once and shared by every node (e.g. the JWT secret). */
@Entity('settings')
export class SettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  key!: string;

  @Column({ type: 'text' })
  value!: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

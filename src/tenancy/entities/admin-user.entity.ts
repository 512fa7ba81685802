import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const ADMIN_ROLES = ['admin', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

@Entity('admin_users')
export class AdminUserEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  /** Canonical (`usernames.ts`): trimmed, NFKC, lower case. */
  @Column({ type: 'varchar', length: 64, unique: true })
  username!: string;

  /** `scrypt$N$r$p$salt$hash` (base64url parts). */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: AdminRole;

  /**
   * The `ver` claim every token of this user must carry. Raised by a password change, a logout and
   * a role change: every token issued before stops working (within a second on every node).
   */
  @Column({ name: 'token_version', type: 'int', default: 0 })
  tokenVersion!: number;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

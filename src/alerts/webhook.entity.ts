import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** What a webhook can subscribe to (docs/alerts.md). */
export const WEBHOOK_EVENTS = ['breaker.transition', 'quota.exhausted', 'write-behind.failed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** `json`: the gateway's own payload; `slack`: a Slack-compatible `{ text, blocks }` message. */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A comma-separated list in one column (a webhook subscribes to a few names of a small enum). */
const eventList = {
  to: (events: readonly WebhookEvent[]): string => events.join(','),
  from: (stored: string): WebhookEvent[] => (stored === '' ? [] : (stored.split(',') as WebhookEvent[])),
};

/**
 * Where alerts go: a URL, the events it wants, a project (null: every project's, and the node's
 * own such as write-behind failures). `secret` signs each delivery, so it is stored as issued
 * (never returned after creation, never logged); `secretPrefix` lets people recognise it.
 */
@Entity('webhooks')
export class WebhookEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Index('ix_webhooks_project_id')
  @Column({ name: 'project_id', type: 'varchar', length: 32, nullable: true })
  projectId!: string | null;

  @Column({ type: 'varchar', length: 255, transformer: eventList })
  events!: WebhookEvent[];

  @Column({ type: 'varchar', length: 8 })
  format!: WebhookFormat;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ type: 'varchar', length: 128 })
  secret!: string;

  @Column({ name: 'secret_prefix', type: 'varchar', length: 16 })
  secretPrefix!: string;

  @Column({ name: 'last_delivery_at', type: 'datetime', precision: 3, nullable: true })
  lastDeliveryAt!: Date | null;

  /** The HTTP status of the last attempt; null when none came back (timeout, refused connection). */
  @Column({ name: 'last_delivery_status', type: 'int', nullable: true })
  lastDeliveryStatus!: number | null;

  @Column({ name: 'last_delivery_ok', type: 'boolean', nullable: true })
  lastDeliveryOk!: boolean | null;

  @Column({ name: 'last_delivery_error', type: 'varchar', length: 300, nullable: true })
  lastDeliveryError!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

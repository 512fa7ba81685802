/** The kinds of backend an application can register; selection never crosses kinds. */
export const API_TYPES = [
  'MODEL',
  'PAYMENT_GATEWAY',
  'NOTIFICATION_SERVICE',
  'SMS_SERVICE',
  'EMAIL_SERVICE',
  'FILE_STORAGE',
  'IMAGE_PROCESSING',
  'OTHER',
] as const;
export type ApiType = (typeof API_TYPES)[number];

/** Lifecycle of an instance. Only `ACTIVE` instances are ever offered to callers. */
export const INSTANCE_STATUSES = ['ACTIVE', 'INACTIVE', 'DEPRECATED'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * One registered backend API instance, as the in-memory indexes hold it: plain, readonly data,
 * decoupled from the TypeORM entity so the hot path never touches ORM objects.
 *
 * @example
 * const record: InstanceRecord = {
 *   id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
 *   projectId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
 *   userId: null,
 *   apiIdentifier: 'gpt-4o',
 *   apiType: 'MODEL',
 *   businessId: 'openai-gpt-4o-eu-1',
 *   routingParams: { weight: 3 },
 *   metadata: null,
 *   endpoint: 'https://eu.example.com/v1',
 *   status: 'ACTIVE',
 *   createdAt: new Date(),
 *   updatedAt: new Date(),
 * };
 */
export interface InstanceRecord {
  /** 32 lowercase hex characters (a UUID without dashes). */
  readonly id: string;
  readonly projectId: string;
  /** Set when the instance is reserved for one end user of the project; null when shared. */
  readonly userId: string | null;
  /** What the caller asks for, e.g. a model name; several instances usually share it. */
  readonly apiIdentifier: string;
  readonly apiType: ApiType;
  /** The caller's own name for this one instance; callers may select by it instead. */
  readonly businessId: string;
  readonly routingParams: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** The URL to call (http or https), when the registration gave one; null otherwise. */
  readonly endpoint: string | null;
  readonly status: InstanceStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

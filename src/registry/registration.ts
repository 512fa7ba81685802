import { type EntityManager, In } from 'typeorm';
import { ROWS_PER_STATEMENT, chunksOf } from '../common/chunks';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import type { CreateInstanceDto, Registration } from './dto/instance.dto';
import { nullIfJsonNull } from './instance-mapping';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { type KeyClash, conflictError, findByKeys, keyOf } from './instance-keys';

/**
 * Registrations of one project that may wait for their turn on a node (one runs at a time), by
 * kind; one more is refused with 429 REGISTRATION_BUSY. Each waiter holds its parsed body: a batch
 * up to `GATEWAY_BATCH_BODY_LIMIT_BYTES` (4 MiB), a single one up to `GATEWAY_BODY_LIMIT_BYTES`
 * (64 KiB) — at most 4 × 4 MiB + 32 × 64 KiB per project and node. AgentX, the real client, never
 * comes near: each of its nodes sends one batch at start-up (after binding its project), and its
 * model events register one instance each through an HTTP client that keeps at most 2 connections
 * to the gateway — so 5 AgentX nodes starting at once, or 16 registering at full speed, still fit.
 */
export const REGISTRATION_QUEUE = {
  batch: { kind: 'batch', maxWaiting: 4 },
  single: { kind: 'single', maxWaiting: 32 },
} as const;

/** When a refused registration is worth retrying: by then the one running has usually finished. */
export const REGISTRATION_RETRY_AFTER_MS = 1000;

/**
 * 429 REGISTRATION_BUSY, with `Retry-After` and `details.retryAfterMs`: too many registrations of
 * the project already wait on this node, or other nodes' registrations of it kept its registration
 * lock for as long as one may wait. Nothing was written.
 */
export function registrationBusy(message: string, details: Readonly<Record<string, number>>): GatewayError {
  return new GatewayError('REGISTRATION_BUSY', message, {
    details: { ...details, retryAfterMs: REGISTRATION_RETRY_AFTER_MS },
    headers: { 'Retry-After': String(Math.ceil(REGISTRATION_RETRY_AFTER_MS / 1000)) },
  });
}

/** An instance of a registration, in request order: how it is left, and its row. */
export interface PlannedItem {
  readonly registration: Registration;
  /** The row to insert (`created`), the stored row with what was sent applied (`updated`), or the stored row. */
  readonly entity: ApiInstanceEntity;
  /** What the registration sent for it. */
  readonly sent: CreateInstanceDto;
}

/** A written (or found) instance of a registration: how it was left, and its row as now stored. */
export interface WrittenItem {
  readonly registration: Registration;
  readonly entity: ApiInstanceEntity;
  /** False when the row was gone by the time it was read back (deleted meanwhile): not to be indexed. */
  readonly stored: boolean;
}

/** What a registration will write, or why it writes nothing. */
export type RegistrationPlan =
  | { readonly kind: 'write'; readonly items: readonly PlannedItem[] }
  | { readonly kind: 'limit'; readonly current: number; readonly requested: number }
  | { readonly kind: 'clash'; readonly clash: KeyClash };

/**
 * How each of the (distinct) instances asked for will be left — created, updated with what was
 * sent, or unchanged — or a refusal: a requested business id the database holds equal to a stored
 * one (a clash), or more new instances than `limit` leaves room for, counting every instance of
 * the project whatever its status. Refusals are returned, not thrown, so a transaction around this
 * commits nothing and never rolls back.
 */
export async function planRegistration(
  manager: EntityManager,
  projectId: string,
  distinct: readonly CreateInstanceDto[],
  limit: number,
): Promise<RegistrationPlan> {
  const lookup = await findByKeys(manager, projectId, distinct);
  if (lookup.clashes.length > 0) return { kind: 'clash', clash: lookup.clashes[0] };
  const existing = new Map(lookup.found.map((entity) => [keyOf(entity), entity]));
  const items = distinct.map((item): PlannedItem => {
    const stored = existing.get(keyOf(item));
    if (stored === undefined) return { registration: 'created', entity: newEntity(projectId, item), sent: item };
    const changed = applied(stored, item);
    return changed === undefined
      ? { registration: 'unchanged', entity: stored, sent: item }
      : { registration: 'updated', entity: changed, sent: item };
  });
  const created = items.filter((item) => item.registration === 'created').length;
  if (created === 0) return { kind: 'write', items };
  const current = await manager.count(ApiInstanceEntity, { where: { projectId } });
  if (current + created > limit) return { kind: 'limit', current, requested: created };
  return { kind: 'write', items };
}

/**
 * The stored row with what the registration sent applied, or undefined when that changes nothing.
 * `apiIdentifier` is always sent; `userId`, `routingParams`, `metadata` and `endpoint` only when
 * given a value — absent or null keeps the stored one, because clients that serialise every field
 * send `null` for what they do not set (clearing is `PUT`'s job); `status` is never touched, so an
 * instance an operator deactivated stays so when its application registers it again at start-up.
 * JSON compares as the text it is stored as: the same object sent again is unchanged.
 */
export function applied(stored: ApiInstanceEntity, item: CreateInstanceDto): ApiInstanceEntity | undefined {
  const next: ApiInstanceEntity = { ...stored, ...sentFields(item) };
  // Both sides as they read: an old row's `''` routing parameters are `{}`, its metadata `'null'` none.
  const same =
    next.apiIdentifier === stored.apiIdentifier &&
    next.userId === stored.userId &&
    (next.routingParamsJson || '{}') === (stored.routingParamsJson || '{}') &&
    nullIfJsonNull(next.metadataJson) === nullIfJsonNull(stored.metadataJson) &&
    (next.endpoint ?? null) === (stored.endpoint ?? null);
  return same ? undefined : next;
}

/** The columns a registration sets on an existing instance: `apiIdentifier`, and every other field it gave a value. */
function sentFields(item: CreateInstanceDto): Partial<ApiInstanceEntity> {
  const fields: Partial<ApiInstanceEntity> = { apiIdentifier: item.apiIdentifier };
  if (item.userId != null) fields.userId = item.userId;
  if (item.routingParams != null) fields.routingParamsJson = JSON.stringify(item.routingParams);
  if (item.metadata != null) fields.metadataJson = metadataJsonOf(item.metadata);
  if (item.endpoint != null) fields.endpoint = item.endpoint;
  return fields;
}

/** The error a refused plan answers with: 409 INSTANCE_CONFLICT or 409 INSTANCE_LIMIT_REACHED. */
export function refusal(plan: Exclude<RegistrationPlan, { kind: 'write' }>, limit: number): GatewayError {
  if (plan.kind === 'clash') return conflictError([plan.clash.requested], plan.clash);
  const { current, requested } = plan;
  return new GatewayError(
    'INSTANCE_LIMIT_REACHED',
    `A project may hold ${limit} instances; it holds ${current}, and ${requested} more were asked for`,
    { details: { limit, current, requested } },
  );
}

/**
 * Writes a plan's rows — inserts {@link ROWS_PER_STATEMENT} per statement; for each updated
 * instance one UPDATE of the columns the registration sent (so a concurrent `PUT` of another field
 * is not overwritten with what the plan read) — and reads every written row back, so each item
 * comes back as stored, with the database's timestamps, in the order given. An instance deleted
 * after the plan read it (its UPDATE matched no row) is inserted again: registering means it
 * exists. Unchanged items are not touched.
 */
export async function writePlan(manager: EntityManager, items: readonly PlannedItem[]): Promise<WrittenItem[]> {
  const outcome = new Map<PlannedItem, Registration>(items.map((item) => [item, item.registration]));
  const fresh = items.filter((item) => item.registration === 'created');
  for (const item of items) {
    if (item.registration !== 'updated') continue;
    const result = await manager.update(ApiInstanceEntity, { id: item.entity.id }, sentFields(item.sent));
    if (result.affected === 0) {
      fresh.push({ ...item, entity: { ...newEntity(item.entity.projectId, item.sent), id: item.entity.id } });
      outcome.set(item, 'created');
    }
  }
  // updateEntity(false): TypeORM would otherwise re-select the rows to fill in the database's
  // timestamps and merge them back by position, and on SQLite the rows come back in another
  // order — swapping ids between the objects. Read back explicitly instead.
  for (const chunk of chunksOf(
    fresh.map((item) => item.entity),
    ROWS_PER_STATEMENT,
  )) {
    await manager.createQueryBuilder().insert().into(ApiInstanceEntity).values(chunk).updateEntity(false).execute();
  }
  const touched = items.filter((item) => item.registration !== 'unchanged').map((item) => item.entity.id);
  const written = new Map<string, ApiInstanceEntity>();
  for (const chunk of chunksOf(touched, ROWS_PER_STATEMENT)) {
    const rows = await manager.find(ApiInstanceEntity, { where: { id: In(chunk) } });
    for (const row of rows) written.set(row.id, row);
  }
  return items.map((item) => {
    const row = written.get(item.entity.id);
    const registration = outcome.get(item) ?? item.registration;
    return row === undefined
      ? { registration, entity: item.entity, stored: item.registration === 'unchanged' }
      : { registration, entity: row, stored: true };
  });
}

/** `metadata` as stored: its JSON text, or null for none. */
function metadataJsonOf(metadata: Record<string, unknown> | null | undefined): string | null {
  return metadata === undefined || metadata === null ? null : JSON.stringify(metadata);
}

/** The row a new instance is inserted as; its timestamps are the database's, read back after the insert. */
function newEntity(projectId: string, item: CreateInstanceDto): ApiInstanceEntity {
  const row: Omit<ApiInstanceEntity, 'createdAt' | 'updatedAt'> = {
    id: newId(),
    projectId,
    userId: item.userId ?? null,
    apiIdentifier: item.apiIdentifier,
    apiType: item.apiType,
    businessId: item.businessId,
    routingParamsJson: JSON.stringify(item.routingParams ?? {}),
    metadataJson: metadataJsonOf(item.metadata),
    endpoint: item.endpoint ?? null,
    status: 'ACTIVE',
  };
  return row as ApiInstanceEntity;
}

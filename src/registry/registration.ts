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
    if (stored === undefined) return { registration: 'created', entity: newEntity(projectId, item) };
    const changed = applied(stored, item);
    return changed === undefined
      ? { registration: 'unchanged', entity: stored }
      : { registration: 'updated', entity: changed };
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
 * present (null clears `userId`, `metadata` and `endpoint`); `status` is never touched, so an
 * instance an operator deactivated stays so when its application registers it again at start-up.
 * JSON compares as the text it is stored as: the same object sent again is unchanged.
 */
export function applied(stored: ApiInstanceEntity, item: CreateInstanceDto): ApiInstanceEntity | undefined {
  const next: ApiInstanceEntity = { ...stored };
  next.apiIdentifier = item.apiIdentifier;
  if (item.userId !== undefined) next.userId = item.userId ?? null;
  if (item.routingParams !== undefined) next.routingParamsJson = JSON.stringify(item.routingParams ?? {});
  if (item.metadata !== undefined) next.metadataJson = metadataJsonOf(item.metadata);
  if (item.endpoint !== undefined) next.endpoint = item.endpoint ?? null;
  const same =
    next.apiIdentifier === stored.apiIdentifier &&
    next.userId === stored.userId &&
    next.routingParamsJson === (stored.routingParamsJson || '{}') &&
    next.metadataJson === nullIfJsonNull(stored.metadataJson) &&
    next.endpoint === (stored.endpoint ?? null);
  return same ? undefined : next;
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
 * Writes a plan's rows — inserts {@link ROWS_PER_STATEMENT} per statement, one UPDATE per updated
 * instance (of the fields a registration may change) — and reads every written row back, so each
 * item comes back with the database's timestamps, in the order given. Unchanged items are not
 * touched.
 */
export async function writePlan(
  manager: EntityManager,
  items: readonly PlannedItem[],
): Promise<{ readonly registration: Registration; readonly entity: ApiInstanceEntity }[]> {
  const fresh = items.filter((item) => item.registration === 'created').map((item) => item.entity);
  // updateEntity(false): TypeORM would otherwise re-select the rows to fill in the database's
  // timestamps and merge them back by position, and on SQLite the rows come back in another
  // order — swapping ids between the objects. Read back explicitly instead.
  for (const chunk of chunksOf(fresh, ROWS_PER_STATEMENT)) {
    await manager.createQueryBuilder().insert().into(ApiInstanceEntity).values(chunk).updateEntity(false).execute();
  }
  const updated = items.filter((item) => item.registration === 'updated').map((item) => item.entity);
  for (const entity of updated) {
    const { apiIdentifier, userId, routingParamsJson, metadataJson, endpoint } = entity;
    await manager.update(
      ApiInstanceEntity,
      { id: entity.id },
      { apiIdentifier, userId, routingParamsJson, metadataJson, endpoint },
    );
  }
  const written = new Map<string, ApiInstanceEntity>();
  for (const chunk of chunksOf([...fresh, ...updated], ROWS_PER_STATEMENT)) {
    const rows = await manager.find(ApiInstanceEntity, { where: { id: In(chunk.map((entity) => entity.id)) } });
    for (const row of rows) written.set(row.id, row);
  }
  return items.map((item) => ({ registration: item.registration, entity: written.get(item.entity.id) ?? item.entity }));
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

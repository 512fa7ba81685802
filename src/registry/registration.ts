import { type EntityManager, In } from 'typeorm';
import { ROWS_PER_STATEMENT, chunksOf } from '../common/chunks';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import type { CreateInstanceDto } from './dto/instance.dto';
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

/** What a registration will write, or why it writes nothing. */
export type RegistrationPlan =
  | { readonly kind: 'fresh'; readonly fresh: Partial<ApiInstanceEntity>[] }
  | { readonly kind: 'limit'; readonly current: number; readonly requested: number }
  | { readonly kind: 'clash'; readonly clash: KeyClash };

/**
 * Which of the (distinct) instances asked for are not registered yet, as rows to insert — or a
 * refusal: a requested business id the database holds equal to a stored one (a clash), or more
 * new instances than `limit` leaves room for, counting every instance of the project whatever its
 * status. Refusals are returned, not thrown, so a transaction around this commits nothing and
 * never rolls back.
 */
export async function planRegistration(
  manager: EntityManager,
  projectId: string,
  distinct: readonly CreateInstanceDto[],
  limit: number,
): Promise<RegistrationPlan> {
  const lookup = await findByKeys(manager, projectId, distinct);
  if (lookup.clashes.length > 0) return { kind: 'clash', clash: lookup.clashes[0] };
  const existing = new Set(lookup.found.map((entity) => keyOf(entity)));
  const fresh = distinct.filter((item) => !existing.has(keyOf(item))).map((item) => newEntity(projectId, item));
  if (fresh.length === 0) return { kind: 'fresh', fresh };
  const current = await manager.count(ApiInstanceEntity, { where: { projectId } });
  if (current + fresh.length > limit) return { kind: 'limit', current, requested: fresh.length };
  return { kind: 'fresh', fresh };
}

/** The error a refused plan answers with: 409 INSTANCE_CONFLICT or 409 INSTANCE_LIMIT_REACHED. */
export function refusal(plan: Exclude<RegistrationPlan, { kind: 'fresh' }>, limit: number): GatewayError {
  if (plan.kind === 'clash') return conflictError([plan.clash.requested], plan.clash);
  const { current, requested } = plan;
  return new GatewayError(
    'INSTANCE_LIMIT_REACHED',
    `A project may hold ${limit} instances; it holds ${current}, and ${requested} more were asked for`,
    { details: { limit, current, requested } },
  );
}

/** Inserts the rows, {@link ROWS_PER_STATEMENT} per statement, and reads them back in the order given. */
export async function insertRows(
  manager: EntityManager,
  fresh: readonly Partial<ApiInstanceEntity>[],
): Promise<ApiInstanceEntity[]> {
  if (fresh.length === 0) return [];
  const chunks = chunksOf(fresh, ROWS_PER_STATEMENT);
  // updateEntity(false): TypeORM would otherwise re-select the rows to fill in the database's
  // timestamps and merge them back by position, and on SQLite the rows come back in another
  // order — swapping ids between the objects. Read back explicitly instead.
  for (const chunk of chunks) {
    await manager.createQueryBuilder().insert().into(ApiInstanceEntity).values(chunk).updateEntity(false).execute();
  }
  const order = new Map(fresh.map((entity, i) => [entity.id, i]));
  const rows: ApiInstanceEntity[] = [];
  for (const chunk of chunks) {
    rows.push(...(await manager.find(ApiInstanceEntity, { where: { id: In(chunk.map((entity) => entity.id)) } })));
  }
  return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

function newEntity(projectId: string, item: CreateInstanceDto): Partial<ApiInstanceEntity> {
  return {
    id: newId(),
    projectId,
    userId: item.userId ?? null,
    apiIdentifier: item.apiIdentifier,
    apiType: item.apiType,
    businessId: item.businessId,
    routingParamsJson: JSON.stringify(item.routingParams ?? {}),
    metadataJson: item.metadata === undefined || item.metadata === null ? null : JSON.stringify(item.metadata),
    status: 'ACTIVE',
  };
}

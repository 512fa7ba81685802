import { type EntityManager, In } from 'typeorm';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import type { CreateInstanceDto } from './dto/instance.dto';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { type KeyClash, conflictError, findByKeys } from './instance-keys';

/** Rows per INSERT statement, and per transaction where the driver holds the event loop (SQLite). */
export const CHUNK = 200;

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

/** Inserts the rows, 200 per statement, and reads them back in the order given. */
export async function insertRows(
  manager: EntityManager,
  fresh: readonly Partial<ApiInstanceEntity>[],
): Promise<ApiInstanceEntity[]> {
  if (fresh.length === 0) return [];
  // updateEntity(false): TypeORM would otherwise re-select the rows to fill in the database's
  // timestamps and merge them back by position, and on SQLite the rows come back in another
  // order — swapping ids between the objects. Read back explicitly instead.
  for (let i = 0; i < fresh.length; i += CHUNK) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(ApiInstanceEntity)
      .values(fresh.slice(i, i + CHUNK))
      .updateEntity(false)
      .execute();
  }
  const order = new Map(fresh.map((entity, i) => [entity.id, i]));
  const rows: ApiInstanceEntity[] = [];
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const ids = fresh.slice(i, i + CHUNK).map((entity) => entity.id);
    rows.push(...(await manager.find(ApiInstanceEntity, { where: { id: In(ids) } })));
  }
  return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

/**
 * MySQL: takes the project's row for the rest of the transaction, so registrations of one project
 * on every node count and insert one after the other (the foreign key checks of the inserts take a
 * shared lock on that row anyway; taking it exclusively first avoids a deadlock between two).
 */
export async function lockProject(manager: EntityManager, projectId: string): Promise<void> {
  await manager.query('SELECT id FROM projects WHERE id = ? FOR UPDATE', [projectId]);
}

function keyOf(key: { apiType: string; businessId: string }): string {
  return `${key.apiType}\u0000${key.businessId}`;
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

import { type EntityManager, In } from 'typeorm';
import { ROWS_PER_STATEMENT, chunksOf } from '../common/chunks';
import { GatewayError } from '../common/gateway-error';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import type { ApiType } from './instance-record';

/** An instance key: unique per project. */
export interface InstanceKey {
  readonly apiType: ApiType;
  readonly businessId: string;
}

/** A stored business id the database holds equal to a requested one that differs from it. */
export interface KeyClash {
  readonly requested: InstanceKey;
  readonly existing: string;
}

export interface KeyLookup {
  /** The stored instances whose key is exactly one of those asked for. */
  readonly found: ApiInstanceEntity[];
  /** Stored keys the database's collation matched to a requested one without being equal to it. */
  readonly clashes: KeyClash[];
}

/**
 * The project's instances with exactly the given keys. Business ids are compared byte for byte,
 * as SQLite and the in-memory index do: where the column's collation still matches other
 * spellings (MariaDB's binary collations pad trailing spaces), the rows it matched that differ
 * are reported as clashes — registering one would break the unique key.
 */
export async function findByKeys(
  manager: EntityManager,
  projectId: string,
  keys: readonly InstanceKey[],
): Promise<KeyLookup> {
  const found = new Map<string, ApiInstanceEntity>();
  const clashes: KeyClash[] = [];
  for (const chunk of chunksOf(keys, ROWS_PER_STATEMENT)) {
    const rows = await manager.find(ApiInstanceEntity, {
      where: { projectId, businessId: In([...new Set(chunk.map((k) => k.businessId))]) },
    });
    const wanted = new Set(chunk.map((k) => keyOf(k)));
    for (const row of rows) {
      if (wanted.has(keyOf(row))) found.set(row.id, row);
      else clashes.push(...clashesWith(row, chunk));
    }
  }
  return { found: [...found.values()], clashes };
}

/**
 * The requested key of the row's apiType that the database took for the row's. A row of another
 * apiType is no clash (the unique key includes it). Which one is only needed to name it: trailing
 * spaces and case are what collations fold.
 */
function clashesWith(row: ApiInstanceEntity, chunk: readonly InstanceKey[]): KeyClash[] {
  const folded = (id: string): string => id.replace(/ +$/, '').toLowerCase();
  const requested = chunk.find(
    (key) => key.apiType === row.apiType && folded(key.businessId) === folded(row.businessId),
  );
  return requested === undefined ? [] : [{ requested, existing: row.businessId }];
}

/**
 * One string per instance key, for sets and maps: the apiType (a fixed name, never holding a NUL),
 * a NUL, then the businessId. The first NUL ends the apiType, so two keys never give one string.
 */
export function keyOf(key: InstanceKey): string {
  return `${key.apiType}\u0000${key.businessId}`;
}

/** Whether a database error is a unique-key violation (MySQL/MariaDB or SQLite). */
export function isUniqueViolation(error: unknown): boolean {
  const code =
    (error as { code?: string; driverError?: { code?: string } }).driverError?.code ??
    (error as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * 409 INSTANCE_CONFLICT: a business id the database cannot store beside an existing one (MariaDB
 * holds `a` and `a ` equal). Names the business id asked for (and the stored one when known);
 * never carries the database's own message, which holds the SQL values.
 */
export function conflictError(keys: readonly InstanceKey[], clash?: KeyClash): GatewayError {
  const [first] = keys;
  const businessId = clash?.requested.businessId ?? first?.businessId;
  const message =
    clash === undefined
      ? `businessId ${JSON.stringify(businessId)} clashes with an instance the database holds equal to it`
      : `businessId ${JSON.stringify(businessId)} clashes with the existing ${JSON.stringify(clash.existing)}, which the database holds equal to it`;
  return new GatewayError('INSTANCE_CONFLICT', message, {
    details: {
      businessId,
      ...(clash === undefined ? {} : { existing: clash.existing }),
      ...(keys.length > 1 ? { businessIds: keys.slice(0, 20).map((key) => key.businessId) } : {}),
    },
  });
}

import type { ApiInstanceEntity } from './entities/api-instance.entity';
import { StoredInstanceRecord } from './stored-record';

/** The compact record the in-memory indexes hold, from a database row (its JSON left unparsed). */
export function toRecord(entity: ApiInstanceEntity): StoredInstanceRecord {
  return new StoredInstanceRecord(entity, entity.routingParamsJson || '{}', nullIfJsonNull(entity.metadataJson));
}

/** `metadata` written as the JSON text `null` (an old simple-json row) is no metadata. */
export function nullIfJsonNull(json: string | null): string | null {
  return json === null || json === 'null' ? null : json;
}

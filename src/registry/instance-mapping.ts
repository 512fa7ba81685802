import type { ApiInstanceEntity } from './entities/api-instance.entity';
import type { InstanceRecord } from './instance-record';

/** The plain record the in-memory indexes hold, from a database row. */
export function toRecord(entity: ApiInstanceEntity): InstanceRecord {
  return {
    id: entity.id,
    projectId: entity.projectId,
    userId: entity.userId,
    apiIdentifier: entity.apiIdentifier,
    apiType: entity.apiType,
    businessId: entity.businessId,
    routingParams: entity.routingParams ?? {},
    metadata: entity.metadata,
    status: entity.status,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}

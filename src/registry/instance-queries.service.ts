import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type FindOptionsWhere, Repository } from 'typeorm';
import { type Page, skipOf } from '../common/pagination';
import type { AdminInstanceQueryDto } from './dto/admin-instance.dto';
import type { InstanceQueryDto } from './dto/instance.dto';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import type { InstanceRecord } from './instance-record';
import { toRecord } from './instance-mapping';

/** Paged listings of instances, from the database (operator views, not the hot path). */
@Injectable()
export class InstanceQueriesService {
  constructor(@InjectRepository(ApiInstanceEntity) private readonly instances: Repository<ApiInstanceEntity>) {}

  /** A project's instances; `projectId` comes from the caller's key, never from the query. */
  forProject(projectId: string, query: InstanceQueryDto): Promise<Page<InstanceRecord>> {
    return this.page({ ...filters(query), projectId }, query);
  }

  /** Instances across projects (admin). */
  acrossProjects(query: AdminInstanceQueryDto): Promise<Page<InstanceRecord>> {
    return this.page({ ...filters(query), ...(query.projectId ? { projectId: query.projectId } : {}) }, query);
  }

  async byId(id: string): Promise<InstanceRecord | undefined> {
    const entity = await this.instances.findOne({ where: { id } });
    return entity ? toRecord(entity) : undefined;
  }

  private async page(
    where: FindOptionsWhere<ApiInstanceEntity>,
    query: InstanceQueryDto,
  ): Promise<Page<InstanceRecord>> {
    const [rows, total] = await this.instances.findAndCount({
      where,
      order: { createdAt: 'ASC', id: 'ASC' },
      skip: skipOf(query),
      take: query.size,
    });
    return { items: rows.map(toRecord), total, page: query.page, size: query.size };
  }
}

function filters(query: InstanceQueryDto): FindOptionsWhere<ApiInstanceEntity> {
  return {
    ...(query.apiType ? { apiType: query.apiType } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.apiIdentifier ? { apiIdentifier: query.apiIdentifier } : {}),
    ...(query.businessId ? { businessId: query.businessId } : {}),
    ...(query.userId ? { userId: query.userId } : {}),
  };
}

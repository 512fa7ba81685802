import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '../database/database.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminInstancesController } from './admin-instances.controller';
import { BatchBodies } from './batch-bodies';
import { ApiInstanceEntity } from './entities/api-instance.entity';
import { InstanceQueriesService } from './instance-queries.service';
import { InstancesController } from './instances.controller';
import { InstancesService } from './instances.service';
import { RegistryIndex } from './registry-index';
import { REGISTRY_LOADED, RegistryLoader } from './registry-loader';
import { RegistrySync } from './registry-sync';

/** Registered API instances: CRUD, batch, lifecycle, and the in-memory index select-instance reads. */
@Module({
  imports: [DatabaseModule, TenancyModule, TypeOrmModule.forFeature([ApiInstanceEntity])],
  controllers: [InstancesController, AdminInstancesController],
  providers: [
    RegistryIndex,
    BatchBodies,
    InstancesService,
    InstanceQueriesService,
    RegistryLoader,
    RegistrySync,
    {
      provide: REGISTRY_LOADED,
      inject: [RegistryLoader],
      useFactory: async (loader: RegistryLoader) => {
        await loader.load();
        return true;
      },
    },
  ],
  exports: [RegistryIndex, InstancesService, RegistryLoader, REGISTRY_LOADED],
})
export class RegistryModule {}

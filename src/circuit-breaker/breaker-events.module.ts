import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '../database/database.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminBreakerEventsController } from './admin-breaker-events.controller';
import { BreakerEventLog } from './breaker-event-log';
import { BreakerEventEntity } from './breaker-event.entity';
import { BreakerEventsService } from './breaker-events.service';
import { BreakerTransitions } from './breaker-transition';

/** Breaker transitions: the in-process emitter, its write-behind log in `breaker_events`, the admin listing. */
@Module({
  imports: [DatabaseModule, TenancyModule, TypeOrmModule.forFeature([BreakerEventEntity])],
  controllers: [AdminBreakerEventsController],
  providers: [BreakerTransitions, BreakerEventLog, BreakerEventsService],
  exports: [BreakerTransitions, BreakerEventLog, BreakerEventsService],
})
export class BreakerEventsModule {}

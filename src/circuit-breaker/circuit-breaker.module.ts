import { Module } from '@nestjs/common';
import { BreakerEventsModule } from './breaker-events.module';
import { BreakerService } from './breaker.service';

/** Per-instance circuit breakers (state behind the BreakerStore seam) and their transition log. */
@Module({
  imports: [BreakerEventsModule],
  providers: [BreakerService],
  exports: [BreakerService, BreakerEventsModule],
})
export class CircuitBreakerModule {}

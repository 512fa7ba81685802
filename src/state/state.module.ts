import { Global, Module } from '@nestjs/common';
import { AffinityStore, MemoryAffinityStore } from './affinity-store';
import { EventBus, MemoryEventBus } from './event-bus';

/**
 * The seams to shared state. Memory implementations now; cluster mode swaps in Redis ones
 * behind the same tokens.
 */
@Global()
@Module({
  providers: [
    { provide: EventBus, useClass: MemoryEventBus },
    { provide: AffinityStore, useClass: MemoryAffinityStore },
  ],
  exports: [EventBus, AffinityStore],
})
export class StateModule {}

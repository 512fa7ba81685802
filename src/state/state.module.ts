import { Global, Module } from '@nestjs/common';
import { EventBus, MemoryEventBus } from './event-bus';

/**
 * The seams to shared state. Memory implementations now; cluster mode swaps in Redis ones
 * behind the same tokens.
 */
@Global()
@Module({
  providers: [{ provide: EventBus, useClass: MemoryEventBus }],
  exports: [EventBus],
})
export class StateModule {}

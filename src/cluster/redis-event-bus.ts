import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { MemoryEventBus } from '../state/event-bus';
import type { StateEvent } from '../state/state-events';
import { ClusterBus } from './cluster-bus';

const KIND = 'event';

/** Event types that describe this node only and never go to the others. */
const LOCAL_ONLY: ReadonlySet<StateEvent['type']> = new Set([
  'state.resync',
  // Alert sources: each node alerts on what it saw itself (docs/alerts.md).
  'quota.exhausted',
  'write-behind.failed',
  'write-behind.recovered',
]);

/**
 * The event bus of cluster mode: delivered here at once (as on a single node), and to every other
 * node through the {@link ClusterBus} (well within a second). A node that may have missed events
 * gets a local `state.resync`, on which caches of database state reload.
 */
@Injectable()
export class RedisEventBus extends MemoryEventBus implements OnModuleInit, OnModuleDestroy {
  private readonly stops: (() => void)[] = [];

  constructor(private readonly bus: ClusterBus) {
    super();
  }

  onModuleInit(): void {
    this.stops.push(
      this.bus.on(KIND, (data) => this.deliverRemote(data as StateEvent)),
      this.bus.onResync(() => this.deliver({ type: 'state.resync' })),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.stops) stop();
  }

  override publish(event: StateEvent): void {
    super.publish(event);
    if (!LOCAL_ONLY.has(event.type)) this.bus.send(KIND, event);
  }
}

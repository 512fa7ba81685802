import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventOrigin, StateEvent, StateEventOf, StateEventType } from './state-events';

/**
 * Publish/subscribe of state changes. The memory implementation delivers synchronously within
 * the process; the Redis one (cluster mode) also delivers to the other nodes.
 *
 * @example
 * constructor(@InjectEventBus() private readonly events: EventBus) {
 *   events.subscribe('apikey.changed', (event) => this.cache.drop(event.keyHash));
 * }
 * this.events.publish({ type: 'apikey.changed', keyHash });
 */
export interface EventBus {
  publish(event: StateEvent): void;
  /** Returns a function that unsubscribes. `origin.remote`: the event was published on another node. */
  subscribe<T extends StateEventType>(
    type: T,
    handler: (event: StateEventOf<T>, origin: EventOrigin) => void,
  ): () => void;
}

/** Injection token of {@link EventBus}. */
export const EventBus = Symbol('EventBus');

export const InjectEventBus = (): ParameterDecorator => Inject(EventBus);

type Handler = (event: StateEvent, origin: EventOrigin) => void;

const LOCAL: EventOrigin = Object.freeze({ remote: false });
const REMOTE: EventOrigin = Object.freeze({ remote: true });

/** In-process delivery. A failing subscriber is logged and does not stop the others. */
@Injectable()
export class MemoryEventBus implements EventBus {
  private readonly logger = new Logger('EventBus');
  private readonly handlers = new Map<StateEventType, Set<Handler>>();

  publish(event: StateEvent): void {
    this.deliver(event, LOCAL);
  }

  /** Delivers an event to this node's subscribers only; `remote`: it came from another node. */
  deliver(event: StateEvent, origin: EventOrigin = LOCAL): void {
    for (const handler of this.handlers.get(event.type) ?? []) {
      try {
        handler(event, origin);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, 'An event subscriber failed');
      }
    }
  }

  /** Delivers an event that another node published. */
  deliverRemote(event: StateEvent): void {
    this.deliver(event, REMOTE);
  }

  subscribe<T extends StateEventType>(
    type: T,
    handler: (event: StateEventOf<T>, origin: EventOrigin) => void,
  ): () => void {
    const set = this.handlers.get(type) ?? new Set<Handler>();
    this.handlers.set(type, set);
    set.add(handler as Handler);
    return () => set.delete(handler as Handler);
  }
}

/**
 * Each store that keeps memory per instance forgets a deleted instance itself: it calls this from
 * `onModuleInit` and the returned function from `onModuleDestroy`.
 *
 * @example
 * onModuleInit() { this.stop = forgetDeletedInstances(this.events, (id) => this.byId.delete(id)); }
 */
export function forgetDeletedInstances(events: EventBus, forget: (instanceId: string) => void): () => void {
  return events.subscribe('instances.deleted', (event) => {
    for (const id of event.instanceIds) forget(id);
  });
}

/**
 * Each store that keeps memory per project forgets a deleted project itself (its bindings, its
 * counters): it calls this at start and the returned function when it stops.
 *
 * @example
 * onModuleInit() { this.stop = forgetDeletedProjects(this.events, (id) => this.byProject.delete(id)); }
 */
export function forgetDeletedProjects(events: EventBus, forget: (projectId: string) => void): () => void {
  return events.subscribe('project.deleted', (event) => forget(event.projectId));
}

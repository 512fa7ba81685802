import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { OutcomeClass } from '../common/outcome';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';

/** Characters of the reported message monitoring shows. */
export const LAST_ERROR_MESSAGE_CHARS = 300;

/** The last report of an instance that was not a SUCCESS, as kept in memory. */
export interface LastError {
  at: number;
  outcome: OutcomeClass;
  statusCode: number | undefined;
  /** As kept by the report path (bounded there); cut to 300 characters when read. */
  message: string | undefined;
}

/**
 * Each instance's last non-SUCCESS report, in this node's memory, for monitoring. Recording is a
 * few field assignments on the instance's one holder (allocated at its first error); a success
 * records nothing. A deleted instance's entry goes with it.
 *
 * @example
 * lastErrors.record(instance.id, now, 'SERVER_ERROR', 503, 'upstream overloaded');
 * lastErrors.get(instance.id)?.outcome; // 'SERVER_ERROR'
 */
@Injectable()
export class LastErrors implements OnModuleInit, OnModuleDestroy {
  private readonly byInstance = new Map<string, LastError>();
  private unsubscribe: (() => void) | undefined;

  constructor(@InjectEventBus() private readonly events: EventBus) {}

  onModuleInit(): void {
    this.unsubscribe = forgetDeletedInstances(this.events, (id) => this.byInstance.delete(id));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  record(
    instanceId: string,
    at: number,
    outcome: OutcomeClass,
    statusCode: number | undefined,
    message: string | undefined,
  ): void {
    const held = this.byInstance.get(instanceId);
    if (held === undefined) {
      this.byInstance.set(instanceId, { at, outcome, statusCode, message });
      return;
    }
    // Reports may arrive out of order across a batch: keep the latest.
    if (at < held.at) return;
    held.at = at;
    held.outcome = outcome;
    held.statusCode = statusCode;
    held.message = message;
  }

  get(instanceId: string): Readonly<LastError> | undefined {
    return this.byInstance.get(instanceId);
  }
}

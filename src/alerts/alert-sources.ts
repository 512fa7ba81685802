import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BreakerEventLog } from '../circuit-breaker/breaker-event-log';
import { type BreakerTransition, BreakerTransitions, actorOf } from '../circuit-breaker/breaker-transition';
import { newOrderedId } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { RegistryIndex } from '../registry/registry-index';
import { EventBus, InjectEventBus } from '../state/event-bus';
import type { StateEventOf } from '../state/state-events';
import type { AlertEvent } from './alert-event';
import { WebhookDispatcher } from './webhook-dispatcher';

/**
 * Whether a breaker transition is alerted: every one an operator makes, and the automatic ones
 * that change whether the instance serves — into OPEN from CLOSED, and back to CLOSED. The timer's
 * OPEN → HALF_OPEN and a failed probe's HALF_OPEN → OPEN are not news: the breaker was already
 * reported open, and the next alert is its recovery.
 */
export function isAlerted(transition: Pick<BreakerTransition, 'from' | 'to'>): boolean {
  if (transition.to === 'HALF_OPEN') return false;
  return !(transition.from === 'HALF_OPEN' && transition.to === 'OPEN');
}

/**
 * Where alerts come from: breaker transitions this node decided (in a cluster, another node's
 * arrive `remote` and are that node's to alert — each transition is alerted once, like its
 * `breaker_events` row), and this node's `quota.exhausted` and `write-behind.*` events. Each
 * becomes an {@link AlertEvent} from memory (the registry index names the instance) and is queued.
 * Also names instances in the breaker log's warn lines.
 */
@Injectable()
export class AlertSources implements OnModuleInit, OnModuleDestroy {
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly transitions: BreakerTransitions,
    private readonly breakerLog: BreakerEventLog,
    private readonly index: RegistryIndex,
    private readonly dispatcher: WebhookDispatcher,
    @InjectEventBus() private readonly events: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.breakerLog.nameInstancesWith((instanceId) => this.index.get(instanceId)?.businessId);
    this.stops.push(
      this.transitions.listen((transition) => {
        if (transition.remote !== true && isAlerted(transition)) this.breaker(transition);
      }),
      this.events.subscribe('quota.exhausted', (event, origin) => {
        if (!origin.remote) this.quota(event);
      }),
      this.events.subscribe('write-behind.failed', (event, origin) => {
        if (!origin.remote) this.writeBehind(event);
      }),
      this.events.subscribe('write-behind.recovered', (event, origin) => {
        if (!origin.remote) this.writeBehind(event);
      }),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  private breaker(transition: BreakerTransition): void {
    const instance = this.index.get(transition.instanceId);
    this.enqueue('breaker.transition', transition.projectId, transition.at, {
      instanceId: transition.instanceId,
      businessId: instance?.businessId ?? null,
      apiIdentifier: instance?.apiIdentifier ?? null,
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
      actor: actorOf(transition),
    });
  }

  private quota(event: StateEventOf<'quota.exhausted'>): void {
    const instance = this.index.get(event.instanceId);
    if (instance === undefined) return; // deleted meanwhile: no project to tell
    this.enqueue('quota.exhausted', instance.projectId, event.at, {
      instanceId: event.instanceId,
      businessId: instance.businessId,
      apiIdentifier: instance.apiIdentifier,
      limit: event.limit,
      value: event.value,
      windowSeconds: 60,
    });
  }

  private writeBehind(event: StateEventOf<'write-behind.failed' | 'write-behind.recovered'>): void {
    const { type: _type, at, ...data } = event;
    this.enqueue(event.type, null, at, data);
  }

  private enqueue(type: AlertEvent['type'], projectId: string | null, at: number, data: Record<string, unknown>): void {
    this.dispatcher.enqueue({ id: newOrderedId(at), type, projectId, occurredAt: at, node: this.config.nodeId, data });
  }
}

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { PurgeSchedule } from '../common/purge-schedule';
import { withoutQuotedValues } from '../common/query-errors';
import { newOrderedId } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { EventBus, InjectEventBus, forgetDeletedProjects } from '../state/event-bus';
import { BreakerEventsService, type BreakerEventRow } from './breaker-events.service';
import { type BreakerTransition, BreakerTransitions, actorOf } from './breaker-transition';

/** What the transition log line names an instance by, besides its id: its business id. */
export type InstanceNamer = (instanceId: string) => string | undefined;

/** Tuning of {@link BreakerEventLog}; every field has a default. */
export interface BreakerEventLogOptions {
  /** Events held while the database is slow or down; beyond it the oldest are dropped. Default 10,000. */
  readonly capacity?: number;
  /** Rows per INSERT statement. Default 500. */
  readonly batchSize?: number;
  /** How often the timer flushes. Default 1000 ms. */
  readonly intervalMs?: number;
}

/**
 * Injection token of {@link BreakerEventLogOptions} (optional).
 *
 * @example
 * { provide: BreakerEventLogOptions, useValue: { capacity: 50_000 } }
 */
export const BreakerEventLogOptions = Symbol('BreakerEventLogOptions');

const MAX_REASON = 255;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The transitions of one project in one minute (server time). */
interface ProjectMinute {
  readonly minute: number;
  written: number;
  suppressed: number;
}

/**
 * The per-project write cap of the log: up to `limit` transitions of a project per minute are
 * written, the rest only counted, so a tenant flapping its own breakers cannot fill the table.
 * O(1) per transition; one entry per project that had transitions, until the project is deleted.
 */
class ProjectMinuteCap {
  private readonly minutes = new Map<string, ProjectMinute>();
  private readonly totals = new Map<string, number>();
  /** Minutes of projects that went over the cap, not yet logged (each once). */
  private readonly unreported = new Map<string, ProjectMinute>();

  constructor(readonly limit: number) {}

  /** Whether one more transition of `projectId` at `now` is written (else it is counted). */
  admit(projectId: string, now: number): boolean {
    const minute = now - (now % MINUTE_MS);
    let current = this.minutes.get(projectId);
    if (current?.minute !== minute) {
      current = { minute, written: 0, suppressed: 0 };
      this.minutes.set(projectId, current);
    }
    if (current.written < this.limit) {
      current.written++;
      return true;
    }
    if (current.suppressed++ === 0) this.unreported.set(projectId, current);
    this.totals.set(projectId, (this.totals.get(projectId) ?? 0) + 1);
    return false;
  }

  /** Forgets a deleted project: its minute, its total (and so its metric series), its pending warning. */
  forget(projectId: string): void {
    this.minutes.delete(projectId);
    this.totals.delete(projectId);
    this.unreported.delete(projectId);
  }

  /** Transitions counted instead of written since start, per project. */
  get suppressed(): ReadonlyMap<string, number> {
    return this.totals;
  }

  /** The minutes that went over the cap since the last call, each handed out once. */
  takeUnreported(): [string, ProjectMinute][] {
    if (this.unreported.size === 0) return [];
    const taken = [...this.unreported];
    this.unreported.clear();
    return taken;
  }
}

/**
 * The write-behind log of breaker transitions: every transition this node emits is queued in
 * memory (O(1), on the request path) and written to `breaker_events` in batches, every second
 * and once more on a graceful stop. Flushes run one after the other, so no event is written twice.
 *
 * A project's automatic transitions beyond `GATEWAY_BREAKER_EVENTS_PER_MINUTE` in a minute (per
 * node) are not queued but counted (`suppressed`), with one warning per project and minute; the
 * breakers themselves are not affected, only their log. An operator's transitions are always
 * written: a restart restores the overrides from them. Events older than
 * `GATEWAY_BREAKER_EVENTS_RETENTION_DAYS` are purged a minute after start and hourly after that (an override still in force is kept).
 *
 * Each transition it keeps is also logged at warn (instance, business id, project, from → to,
 * reason, actor) — once in a cluster, by the node that decided it; those over the cap are only
 * counted, like their rows. When writes start failing, and when they work again, it publishes
 * `write-behind.failed` / `write-behind.recovered` for the alerts.
 */
@Injectable()
export class BreakerEventLog implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(BreakerEventLog.name);
  private readonly capacity: number;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly queue: BoundedQueue<BreakerEventRow>;
  private readonly cap: ProjectMinuteCap;
  private readonly retentionDays: number;
  private timer?: NodeJS.Timeout;
  private readonly purgeSchedule = new PurgeSchedule(
    () => this.purge(),
    (error) => this.logger.error({ err: error }, 'Purging breaker events failed'),
  );
  private flushing: Promise<unknown> = Promise.resolve();
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private failing = false;
  private failedAttempts = 0;
  private readonly stopForgetting: () => void;
  private readonly transitionLogger = new Logger('Breakers');
  private nameOf: InstanceNamer = () => undefined;
  /** Transitions kept but not logged yet: logged by the timer, never on the request path. */
  private unlogged: { readonly transition: BreakerTransition; readonly actor: string }[] = [];
  private unloggedDropped = 0;

  constructor(
    transitions: BreakerTransitions,
    @Inject(BreakerEventsService)
    private readonly store: Pick<BreakerEventsService, 'insert' | 'isOpen' | 'purgeBefore'>,
    @InjectClock() private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectEventBus() private readonly events: EventBus,
    @Optional() @Inject(BreakerEventLogOptions) options: BreakerEventLogOptions = {},
  ) {
    this.cap = new ProjectMinuteCap(config.limits.breakerEventsPerProjectPerMinute);
    this.retentionDays = config.limits.breakerEventsRetentionDays;
    this.capacity = Math.max(1, options.capacity ?? 10_000);
    this.batchSize = Math.max(1, Math.min(options.batchSize ?? 500, 500));
    this.intervalMs = options.intervalMs ?? 1000;
    this.queue = new BoundedQueue(this.capacity);
    // Subscribed at construction, so transitions emitted while other modules start are kept too.
    // Another node's transition is that node's row to write.
    transitions.listen((transition) => {
      if (transition.remote !== true) this.enqueue(transition);
    });
    this.stopForgetting = forgetDeletedProjects(events, (projectId) => this.cap.forget(projectId));
  }

  /**
   * Gives the transition log line the instance's business id (the registry, which sits above
   * this module, registers it at start-up).
   */
  nameInstancesWith(namer: InstanceNamer): void {
    this.nameOf = namer;
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.queue.size;
  }

  /** Events dropped since start because the queue was full. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Transitions not written since start because their project was over its cap, per project. */
  get suppressed(): ReadonlyMap<string, number> {
    return this.cap.suppressed;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.queue.size > 0) {
        void this.flush();
      } else {
        this.logTransitions();
        this.reportSuppressed();
      }
    }, this.intervalMs);
    this.timer.unref();
    this.purgeSchedule.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.purgeSchedule.stop();
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Deletes events older than the retention (`GATEWAY_BREAKER_EVENTS_RETENTION_DAYS`, counted
   * from now), keeping each operator override still in force. Returns how many went.
   */
  async purge(): Promise<number> {
    const removed = await this.store.purgeBefore(new Date(this.clock.now() - this.retentionDays * DAY_MS));
    if (removed > 0) this.logger.log(`Purged ${removed} breaker events older than ${this.retentionDays} days`);
    return removed;
  }

  /**
   * Nest closes the HTTP server after `beforeApplicationShutdown`, so requests still draining
   * then can emit transitions; the DataSource (a global module) closes after this hook.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopForgetting();
    if (this.queue.size > 0 && this.store.isOpen()) await this.flush();
  }

  /**
   * Writes everything queued when it starts (after any flush already running) and resolves to
   * how many events it wrote. Never rejects: a failed batch goes back to the head of the queue.
   */
  flush(): Promise<number> {
    this.logTransitions();
    const run = this.flushing
      .then(() => this.drain())
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'Flushing breaker events failed');
        return 0;
      });
    this.flushing = run;
    return run;
  }

  private enqueue(transition: BreakerTransition): void {
    const operator = transition.reason.startsWith('operator:');
    if (!operator && !this.cap.admit(transition.projectId, this.clock.now())) return;
    const actor = actorOf(transition);
    if (this.unlogged.length < this.capacity) this.unlogged.push({ transition, actor });
    else this.unloggedDropped++;
    const dropped = this.queue.push({
      id: newOrderedId(transition.at),
      projectId: transition.projectId,
      instanceId: transition.instanceId,
      fromState: transition.from,
      toState: transition.to,
      reason: truncate(transition.reason),
      actor,
      at: new Date(transition.at),
    });
    this.countDrops(dropped);
  }

  /**
   * One warn line per transition kept (capped per project and minute like the rows), written by
   * the timer (at most `intervalMs` late) or a flush, so the request that caused it logs nothing.
   */
  private logTransitions(): void {
    if (this.unlogged.length === 0) return;
    const unlogged = this.unlogged;
    this.unlogged = [];
    for (const { transition, actor } of unlogged) this.logTransition(transition, actor);
    if (this.unloggedDropped > 0) {
      this.transitionLogger.warn(
        { notLogged: this.unloggedDropped },
        `${this.unloggedDropped} breaker transitions were not logged (more than ${this.capacity} within a second)`,
      );
      this.unloggedDropped = 0;
    }
  }

  private logTransition(transition: BreakerTransition, actor: string): void {
    const { instanceId, projectId, from, to, reason } = transition;
    const businessId = this.nameOf(instanceId) ?? null;
    this.transitionLogger.warn(
      { instanceId, businessId, projectId, from, to, reason, actor },
      `Breaker of ${businessId ?? instanceId} (instance ${instanceId}, project ${projectId}): ${from} → ${to}, ${reason}, by ${actor}`,
    );
  }

  private async drain(): Promise<number> {
    let remaining = this.queue.size;
    let written = 0;
    let discarded = 0;
    while (remaining > 0 && this.queue.size > 0) {
      const batch = this.queue.takeFront(Math.min(remaining, this.batchSize));
      remaining -= batch.length;
      try {
        const result = await this.store.insert(batch);
        written += result.written;
        discarded += result.discarded;
        this.writesWork();
      } catch (error) {
        this.countDrops(this.queue.putBackFront(batch));
        this.writesFail(error);
        break;
      }
    }
    this.report(discarded);
    return written;
  }

  private countDrops(count: number): void {
    this.droppedTotal += count;
    this.droppedUnreported += count;
  }

  /** One warning per project and minute over the cap, off the request path. */
  private reportSuppressed(): void {
    for (const [projectId, minute] of this.cap.takeUnreported()) {
      this.logger.warn(
        {
          projectId,
          limit: this.cap.limit,
          suppressed: minute.suppressed,
          minute: new Date(minute.minute).toISOString(),
        },
        `Project ${projectId} reached ${this.cap.limit} breaker events this minute: further transitions are counted, not written`,
      );
    }
  }

  /** One warning per flush at most, never one per event. */
  private report(discarded: number): void {
    this.reportSuppressed();
    if (this.droppedUnreported > 0) {
      this.logger.warn(
        { dropped: this.droppedUnreported, capacity: this.capacity },
        'The breaker event queue was full: the oldest events were dropped',
      );
      this.droppedUnreported = 0;
    }
    if (discarded > 0) {
      this.logger.warn({ discarded }, 'Breaker events of deleted projects were discarded');
    }
  }

  /** Logged once when writes start failing (not on every retry), and once when they work again. */
  private writesFail(error: unknown): void {
    this.failedAttempts++;
    if (!this.failing) {
      this.logger.error({ err: error, queued: this.queue.size }, 'Writing breaker events failed; retrying');
      this.events.publish({
        type: 'write-behind.failed',
        log: 'breaker-events',
        error: withoutQuotedValues(error instanceof Error ? error.message : String(error)),
        held: this.queue.size,
        at: this.clock.now(),
      });
    }
    this.failing = true;
  }

  private writesWork(): void {
    if (this.failing) {
      this.logger.log('Writing breaker events works again');
      const failedAttempts = this.failedAttempts;
      this.events.publish({
        type: 'write-behind.recovered',
        log: 'breaker-events',
        failedAttempts,
        at: this.clock.now(),
      });
    }
    this.failing = false;
    this.failedAttempts = 0;
  }
}

function truncate(reason: string): string {
  return reason.length <= MAX_REASON ? reason : Array.from(reason).slice(0, MAX_REASON).join('');
}

/** A ring buffer: O(1) push that drops the oldest when full, and batches taken from the front. */
class BoundedQueue<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(private readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity);
  }

  /** Appends `item`; returns how many of the oldest were dropped to make room (0 or 1). */
  push(item: T): number {
    const full = this.size === this.capacity;
    if (full) {
      this.head = (this.head + 1) % this.capacity;
      this.size -= 1;
    }
    this.slots[(this.head + this.size) % this.capacity] = item;
    this.size += 1;
    return full ? 1 : 0;
  }

  takeFront(count: number): T[] {
    const taken: T[] = [];
    while (taken.length < count && this.size > 0) {
      taken.push(this.slots[this.head] as T);
      this.slots[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size -= 1;
    }
    return taken;
  }

  /** Puts `items` (older than anything queued) back in front; returns how many of the oldest did not fit. */
  putBackFront(items: readonly T[]): number {
    const fit = Math.min(this.capacity - this.size, items.length);
    for (let i = items.length - 1; i >= items.length - fit; i -= 1) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.slots[this.head] = items[i];
      this.size += 1;
    }
    return items.length - fit;
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { BinaryHeap } from '../common/binary-heap';
import { Clock, InjectClock } from '../common/clock';
import { newId } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { type AlertEvent, payloadOf, subscriptionOf } from './alert-event';
import type { WebhookEntity } from './webhook.entity';
import { signWebhook } from './webhook-signature';
import { type DeliveryResult, WebhooksService } from './webhooks.service';

/** One HTTP attempt as the dispatcher makes it. */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /**
   * Aborts the attempt: after `timeoutMs`, or at once when the gateway shuts down. A transport
   * must honour it (fetch does); shutdown waits about a second at most for one that does not.
   */
  readonly signal: AbortSignal;
}

/**
 * Sends one attempt and resolves to the receiver's status; rejects when no answer came (timeout,
 * refused connection). The default is Node's fetch (undici); tests of the retry rules give their own.
 */
export type WebhookTransport = (request: WebhookRequest) => Promise<{ readonly status: number }>;

/** Node's fetch, bounded by the request's signal (timeout or shutdown), redirects not followed (a 3xx is a failure). */
export const fetchTransport: WebhookTransport = async ({ url, headers, body, signal }) => {
  const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
  // The answer's body is not read: drop it so the connection can be reused.
  await response.body?.cancel().catch(() => undefined);
  return { status: response.status };
};

/** Tuning of {@link WebhookDispatcher}; every field has a default. */
export interface WebhookDispatcherOptions {
  readonly transport?: WebhookTransport;
  /** Delay before the second attempt; doubled for each later one (before jitter). Default 1000 ms. */
  readonly baseBackoffMs?: number;
  /** Longest delay between attempts. Default 60 s. */
  readonly maxBackoffMs?: number;
  /** Attempts in flight at once, over all webhooks. Default 4. */
  readonly concurrency?: number;
  /** Uniform in [0, 1), for the jitter. */
  readonly random?: () => number;
}

/**
 * Injection token of {@link WebhookDispatcherOptions} (optional).
 *
 * @example
 * { provide: WebhookDispatcherOptions, useValue: { transport: myTransport } }
 */
export const WebhookDispatcherOptions = Symbol('WebhookDispatcherOptions');

/** How long the worker sleeps at most between looks at its retries (the clock may be a test's). */
const RECHECK_MS = 250;
/** How long shutdown waits at most for attempts to settle once aborted (a transport may ignore the abort). */
const SHUTDOWN_GRACE_MS = 1000;
const USER_AGENT = 'api-premium-gateway-webhooks';

/**
 * One alert on its way to one webhook, across its attempts. Only the webhook's id is kept: each
 * attempt reads the webhook as it is then (URL, secret, format), or drops the delivery if it is gone.
 */
interface Delivery {
  /** `X-Gateway-Delivery`: the same on every attempt, so a receiver can drop a repeat. */
  readonly id: string;
  readonly webhookId: string;
  readonly event: AlertEvent;
  attempt: number;
  dueAt: number;
  /** When it (last) entered the waiting heap: among equal `dueAt`, first in, first out. */
  seq: number;
}

/** What an attempt is sent with: the webhook as it is now. */
type Target = Pick<WebhookEntity, 'id' | 'url' | 'secret' | 'format'>;

/** How an attempt went; `cancelled` when the shutdown aborted it (then neither recorded nor retried). */
interface Sent {
  readonly result: DeliveryResult;
  readonly cancelled: boolean;
}

/** Soonest due first; ties in the order they were queued. */
const dueFirst = (a: Delivery, b: Delivery): boolean => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);

/** Counters of the dispatcher, for tests and logs. */
export interface DispatcherStats {
  readonly queued: number;
  readonly waiting: number;
  readonly inFlight: number;
  /** Alerts (or deliveries) dropped since start because the queue was full. */
  readonly dropped: number;
  readonly delivered: number;
  /** Deliveries given up after their last attempt. */
  readonly failed: number;
  /** Deliveries dropped before an attempt because their webhook had been deleted or disabled. */
  readonly discarded: number;
}

/**
 * Delivers alerts to webhooks, behind the request path. {@link enqueue} only queues, never waits
 * (a bounded ring: when full the oldest alert goes, counted, one warning per round); a worker
 * matches each alert to the enabled webhooks in memory and POSTs it to each, at most
 * `concurrency` at once, each attempt bounded by `GATEWAY_WEBHOOK_TIMEOUT_MS`. A failed attempt
 * (no answer, or not 2xx) is tried again after an exponential backoff with jitter, up to
 * `GATEWAY_WEBHOOK_MAX_ATTEMPTS` attempts; the waiting deliveries are a min-heap by due time.
 * Each attempt looks its webhook up among the enabled ones (dropping the delivery when it is gone
 * or disabled), is signed afresh with its current secret (`X-Gateway-Timestamp`,
 * `X-Gateway-Signature`), goes to its current URL, and is recorded as the webhook's last delivery.
 * Shutdown aborts the attempts in flight.
 * Times come from the injected clock, so tests drive the retries; the alerts live in memory only.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Alerts');
  private readonly capacity: number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly transport: WebhookTransport;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly concurrency: number;
  private readonly random: () => number;
  private readonly queue: AlertEvent[] = [];
  private readonly waiting = new BinaryHeap<Delivery>(dueFirst);
  private seq = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** One per attempt in flight (the queued ones and the admin API's tests): shutdown aborts them. */
  private readonly aborts = new Set<AbortController>();
  private running = false;
  private woken = false;
  private timer?: NodeJS.Timeout;
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private delivered = 0;
  private failed = 0;
  private discarded = 0;

  constructor(
    private readonly webhooks: WebhooksService,
    @InjectClock() private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(WebhookDispatcherOptions) options: WebhookDispatcherOptions = {},
  ) {
    this.capacity = config.alerts.queueSize;
    this.timeoutMs = config.alerts.timeoutMs;
    this.maxAttempts = config.alerts.maxAttempts;
    this.transport = options.transport ?? fetchTransport;
    this.baseBackoffMs = options.baseBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.random = options.random ?? Math.random;
  }

  get stats(): DispatcherStats {
    return {
      queued: this.queue.length,
      waiting: this.waiting.size,
      inFlight: this.inFlight.size,
      dropped: this.droppedTotal,
      delivered: this.delivered,
      failed: this.failed,
      discarded: this.discarded,
    };
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.wake();
  }

  /**
   * Stops the worker and aborts the attempts in flight (neither recorded nor retried), then waits
   * for them to settle, {@link SHUTDOWN_GRACE_MS} at most — never `GATEWAY_WEBHOOK_TIMEOUT_MS`,
   * which may be longer than the gateway's shutdown timeout. Queued alerts are lost.
   */
  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const controller of this.aborts) controller.abort();
    if (this.inFlight.size === 0) return;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, SHUTDOWN_GRACE_MS);
        grace.unref();
      }),
    ]);
    clearTimeout(grace);
  }

  /** Queues an alert; never waits, never throws. Called on the request path. */
  enqueue(event: AlertEvent): void {
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.countDrop();
    }
    this.queue.push(event);
    this.wake();
  }

  /**
   * One round of the worker: matches the queued alerts to webhooks, starts the deliveries that
   * are due (as many as the concurrency allows) and resolves once those attempts are done. The
   * timers call it; tests call it and await it.
   */
  pump(): Promise<void> {
    this.fanOut();
    const now = this.clock.now();
    const started: Promise<void>[] = [];
    while (this.inFlight.size < this.concurrency) {
      const next = this.waiting.peek();
      if (next === undefined || next.dueAt > now) break;
      this.waiting.pop();
      const target = this.webhooks.enabledWebhook(next.webhookId);
      if (target === undefined) this.discard(next);
      else started.push(this.start(next, target));
    }
    this.reportDrops();
    this.arm();
    return Promise.all(started).then(() => undefined);
  }

  /** Sends one attempt of `event` to `webhook` now, outside the queue (the admin API's test). */
  async sendNow(webhook: WebhookEntity, event: AlertEvent): Promise<DeliveryResult> {
    const { result, cancelled } = await this.send(newId(), event, webhook);
    if (!cancelled) await this.webhooks.recordDelivery(webhook.id, result);
    return result;
  }

  /** Each queued alert becomes one delivery per matching webhook (bounded like the queue). */
  private fanOut(): void {
    const now = this.clock.now();
    for (const event of this.queue.splice(0)) {
      const subscription = subscriptionOf(event.type);
      if (subscription === null) continue;
      for (const webhook of this.webhooks.matching(subscription, event.projectId)) {
        this.wait({ id: newId(), webhookId: webhook.id, event, attempt: 1, dueAt: now, seq: 0 });
      }
    }
  }

  /**
   * Into the waiting heap. When it is full, the delivery due soonest goes (counted): in a backlog
   * that is the one that has waited longest, as with the alert queue.
   */
  private wait(delivery: Delivery): void {
    if (this.waiting.size >= this.capacity) {
      this.waiting.pop();
      this.countDrop();
    }
    delivery.seq = this.seq++;
    this.waiting.push(delivery);
  }

  /** Its webhook was deleted or disabled since it was queued: no further attempt. */
  private discard(delivery: Delivery): void {
    this.discarded++;
    this.logger.debug(
      { webhookId: delivery.webhookId, deliveryId: delivery.id, event: delivery.event.type, attempt: delivery.attempt },
      `Webhook ${delivery.webhookId} was deleted or disabled: ${delivery.event.type} dropped before attempt ${delivery.attempt}`,
    );
  }

  private start(delivery: Delivery, target: Target): Promise<void> {
    const run = this.attempt(delivery, target).finally(() => {
      this.inFlight.delete(run);
      this.wake();
    });
    this.inFlight.add(run);
    return run;
  }

  private async attempt(delivery: Delivery, target: Target): Promise<void> {
    const { result, cancelled } = await this.send(delivery.id, delivery.event, target);
    if (cancelled) return;
    await this.webhooks.recordDelivery(delivery.webhookId, result);
    if (result.ok) {
      this.delivered++;
      return;
    }
    if (delivery.attempt >= this.maxAttempts) {
      this.failed++;
      this.logger.warn(
        {
          webhookId: delivery.webhookId,
          deliveryId: delivery.id,
          event: delivery.event.type,
          attempts: delivery.attempt,
          status: result.status,
          error: result.error,
        },
        `Webhook ${delivery.webhookId}: ${delivery.event.type} not delivered after ${delivery.attempt} attempts; given up`,
      );
      return;
    }
    delivery.dueAt = this.clock.now() + this.backoff(delivery.attempt);
    delivery.attempt++;
    this.wait(delivery);
  }

  /** After attempt `n` failed: base × 2^(n-1), capped, then between half and all of it (jitter). */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /**
   * One POST of `event` to `target` as it is now (its URL, format and secret), bounded by the
   * timeout and aborted by shutdown; never throws.
   */
  private async send(deliveryId: string, event: AlertEvent, target: Target): Promise<Sent> {
    const body = payloadOf(event, target.format);
    const timestamp = String(Math.floor(this.clock.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-gateway-event': event.type,
      'x-gateway-delivery': deliveryId,
      'x-gateway-timestamp': timestamp,
      'x-gateway-signature': signWebhook(target.secret, timestamp, body),
    };
    const shutdown = new AbortController();
    this.aborts.add(shutdown);
    try {
      const { status } = await this.transport({
        url: target.url,
        headers,
        body,
        timeoutMs: this.timeoutMs,
        signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      const ok = status >= 200 && status < 300;
      const result = { at: new Date(this.clock.now()), status, ok, ...(ok ? {} : { error: `HTTP ${status}` }) };
      return { result, cancelled: false };
    } catch (error) {
      const cancelled = shutdown.signal.aborted;
      const reason = cancelled ? 'cancelled: the gateway is shutting down' : describeFailure(error);
      return { result: { at: new Date(this.clock.now()), status: null, ok: false, error: reason }, cancelled };
    } finally {
      this.aborts.delete(shutdown);
    }
  }

  private wake(): void {
    if (!this.running || this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      if (this.running) void this.pump();
    });
  }

  /** Sleeps until the next retry is due (at most {@link RECHECK_MS}: the clock may be a test's). */
  private arm(): void {
    if (!this.running || this.timer !== undefined) return;
    const next = this.waiting.peek();
    if (next === undefined || this.inFlight.size >= this.concurrency) return;
    const delay = Math.min(Math.max(next.dueAt - this.clock.now(), 1), RECHECK_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) void this.pump();
    }, delay);
    this.timer.unref();
  }

  private countDrop(): void {
    this.droppedTotal++;
    this.droppedUnreported++;
  }

  /** One warning per round at most, never one per alert. */
  private reportDrops(): void {
    if (this.droppedUnreported === 0) return;
    this.logger.warn(
      { dropped: this.droppedUnreported, capacity: this.capacity },
      'The webhook queue was full: the oldest alerts were dropped',
    );
    this.droppedUnreported = 0;
  }
}

/** Why an attempt got no answer, without the URL (it may hold a token, as Slack's do). */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return `${error.message} (${code})`;
  return error.message.slice(0, 300);
}

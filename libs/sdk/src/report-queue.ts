import { GatewayRequestError } from './errors';
import { sleep, unrefTimer } from './transport';
import type { AttemptReport } from './types';

/** How reports are batched. */
export interface ReportQueueOptions {
  /** Reports per `report-results` request, at most 1000 (default 100). */
  readonly batchSize?: number;
  /**
   * A report waits at most this long for its batch to fill, ms (default 0: it leaves with whatever
   * else is queued by then). The gateway's breakers and statistics learn from reports, so every
   * millisecond a failure waits keeps its backend in rotation; batches still form on their own
   * while one is in flight.
   */
  readonly intervalMs?: number;
  /** Reports held at most (waiting, or kept while the gateway is unreachable); beyond, the oldest are dropped (default 10 000). */
  readonly maxQueued?: number;
  /** The longest pause between retries of a failed delivery, ms (default 30 000). */
  readonly maxRetryDelayMs?: number;
}

/** Counters of the report queue since the client was created. */
export interface ReportStats {
  /** Waiting to be sent now. */
  readonly queued: number;
  /** Delivered (acknowledged by the gateway). */
  readonly sent: number;
  /** Of those, counted by the gateway (the others were duplicates of a selection already reported). */
  readonly counted: number;
  readonly duplicates: number;
  /** Refused by the gateway (a 4xx for that very report, e.g. its instance was deleted meanwhile). */
  readonly rejected: number;
  /** Dropped unsent: the queue was full, or `close()` ran out of time. */
  readonly dropped: number;
  /** Deliveries that failed and were retried later. */
  readonly retries: number;
}

/** Sends one batch; answers what the gateway counted (undefined from gateways that do not say). */
export type SendBatch = (
  reports: readonly AttemptReport[],
) => Promise<{ counted?: number; duplicates?: number } | undefined>;

/** Called with reports given up: refused by the gateway, or dropped unsent. */
export type ReportErrorHandler = (error: unknown, reports: readonly AttemptReport[]) => void;

const MAX_BATCH = 1000;
const FIRST_RETRY_DELAY_MS = 250;

/**
 * Reports wait here, never the caller: batched (`batchSize` or `intervalMs`, whichever first),
 * sent one batch at a time, retried with exponential backoff (or the gateway's Retry-After) while
 * the gateway is unreachable, bounded (`maxQueued`, oldest dropped first).
 *
 * A batch the gateway refuses with 400/404/413 is split in halves until the refused reports are
 * alone, so one bad report (its instance deleted meanwhile) does not take its batch down with it.
 * No timer runs while the queue is empty; the batching timer keeps a Node process alive until it
 * fires (at most `intervalMs`), retry timers do not (call `close()` at shutdown).
 */
export class ReportQueue {
  private readonly queue: AttemptReport[] = [];
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly maxQueued: number;
  private readonly maxRetryDelayMs: number;
  private timer?: ReturnType<typeof setTimeout>;
  private running?: Promise<void>;
  private failures = 0;
  private retryAt = 0;
  private lastError?: unknown;
  private closed = false;
  private readonly counters = { sent: 0, counted: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0 };

  constructor(
    private readonly send: SendBatch,
    options: ReportQueueOptions = {},
    private readonly onError?: ReportErrorHandler,
  ) {
    this.batchSize = Math.max(1, Math.min(MAX_BATCH, options.batchSize ?? 100));
    this.intervalMs = Math.max(0, options.intervalMs ?? 0);
    this.maxQueued = Math.max(1, options.maxQueued ?? 10_000);
    this.maxRetryDelayMs = Math.max(FIRST_RETRY_DELAY_MS, options.maxRetryDelayMs ?? 30_000);
  }

  stats(): ReportStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /** Queues a report; returns at once. */
  push(report: AttemptReport): void {
    if (this.closed) {
      this.drop([report], new Error('the client is closed'));
      return;
    }
    this.queue.push(report);
    this.trim();
    this.schedule();
  }

  /**
   * Sends everything queued now, ignoring any backoff; rejects with the last delivery error when
   * the gateway could not be reached (the reports stay queued and are retried later).
   */
  async flush(): Promise<void> {
    this.clearTimer();
    this.retryAt = 0;
    await this.running;
    await this.pump();
    if (this.queue.length > 0) {
      throw this.lastError instanceof Error
        ? this.lastError
        : new Error('reports could not be delivered', { cause: this.lastError });
    }
  }

  /**
   * Stops batching and delivers what is queued, retrying with backoff for at most `timeoutMs`;
   * what is still undelivered then is dropped (counted, and passed to the error handler).
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    this.clearTimer();
    const deadline = Date.now() + timeoutMs;
    await this.running;
    for (;;) {
      await this.pump();
      if (this.queue.length === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(left, Math.max(0, this.retryAt - Date.now())));
    }
    this.drop(this.queue.splice(0), this.lastError ?? new Error('close() timed out'));
  }

  private trim(): void {
    const over = this.queue.length - this.maxQueued;
    if (over > 0) this.drop(this.queue.splice(0, over), new Error(`more than ${this.maxQueued} reports queued`));
  }

  private drop(reports: AttemptReport[], error: unknown): void {
    this.counters.dropped += reports.length;
    this.onError?.(error, reports);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed || this.running !== undefined || this.queue.length === 0) return;
    const backoff = this.retryAt - Date.now();
    if (backoff > 0) {
      this.timer ??= unrefTimer(() => this.fire(), backoff);
      return;
    }
    if (this.queue.length >= this.batchSize) {
      this.clearTimer();
      void this.pump(false);
      return;
    }
    this.timer ??= setTimeout(() => this.fire(), this.intervalMs);
  }

  private fire(): void {
    this.timer = undefined;
    void this.pump();
  }

  /**
   * Runs one delivery loop at a time; resolves when it stopped (nothing left to send, or a delivery
   * failed). `all: false` sends full batches only: the rest waits for its batch to fill or the interval.
   */
  private pump(all = true): Promise<void> {
    this.running ??= this.deliverAll(all).finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  private async deliverAll(all: boolean): Promise<void> {
    while (this.queue.length >= (all ? 1 : this.batchSize)) {
      const batch = this.queue.splice(0, this.batchSize);
      const undelivered = await this.deliver(batch);
      if (undelivered === undefined) {
        this.failures = 0;
        continue;
      }
      // Back to the front, in order; new reports may have arrived meanwhile.
      this.queue.unshift(...undelivered.reports);
      this.trim();
      this.failures++;
      this.counters.retries++;
      this.lastError = undelivered.error;
      this.retryAt = Date.now() + this.retryDelay(undelivered.error);
      return;
    }
  }

  private retryDelay(error: unknown): number {
    const exponential = FIRST_RETRY_DELAY_MS * 2 ** Math.min(this.failures - 1, 16);
    const jittered = exponential * (0.8 + Math.random() * 0.4);
    const asked = error instanceof GatewayRequestError ? (error.retryAfterMs ?? 0) : 0;
    return Math.min(this.maxRetryDelayMs, Math.max(jittered, asked));
  }

  /** Delivers a batch; answers what could not be delivered for now (a transient failure), if anything. */
  private async deliver(batch: AttemptReport[]): Promise<{ reports: AttemptReport[]; error: unknown } | undefined> {
    try {
      const answer = await this.send(batch);
      this.counters.sent += batch.length;
      this.counters.counted += answer?.counted ?? batch.length;
      this.counters.duplicates += answer?.duplicates ?? 0;
      return undefined;
    } catch (error) {
      if (isTransient(error)) return { reports: batch, error };
      const status = (error as GatewayRequestError).status;
      if (batch.length > 1 && (status === 400 || status === 404 || status === 413)) {
        const half = Math.ceil(batch.length / 2);
        const first = await this.deliver(batch.slice(0, half));
        if (first !== undefined) return { reports: [...first.reports, ...batch.slice(half)], error: first.error };
        return this.deliver(batch.slice(half));
      }
      this.counters.rejected += batch.length;
      this.onError?.(error, batch);
      return undefined;
    }
  }
}

/** Worth retrying later: no answer, a 5xx, 408 or 429. Anything else is the gateway's final word. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof GatewayRequestError)) return true;
  return error.unavailable || error.status === 408 || error.status === 429;
}

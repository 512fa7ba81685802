import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { Clock, InjectClock } from '../common/clock';
import { PurgeSchedule } from '../common/purge-schedule';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MinuteBucket, type MinuteReport } from './minute-bucket';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { MinuteMetricsStore } from './minute-metrics.store';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MAX_BACKOFF_MS = 30_000;
/** Refused rows named in the one warning of a flush; all of them are counted. */
const MAX_LOGGED_ROWS = 20;
/** Characters of the database's message kept in a log line. */
const MAX_LOGGED_MESSAGE = 500;

/** The open minutes of one instance: the newest at hand (most reports land there), others by minute. */
interface InstanceMinutes {
  latest: MinuteBucket;
  readonly older: Map<number, MinuteBucket>;
}

/** A row the database refused on its own, and what the database said. */
interface RefusedRow {
  readonly bucket: MinuteBucket;
  readonly message: string;
}

/** How writing a failed flush's rows apart went. */
interface Salvage {
  written: number;
  readonly refused: RefusedRow[];
  /** Set when the database stopped answering meanwhile: the error. */
  down?: unknown;
}

/** Counters of the write-behind, for Prometheus and tests. */
export interface AggregatorStats {
  /** Rows written since start. */
  readonly flushedRows: number;
  /** Rows dropped because the buffer was full while the database was unavailable. */
  readonly droppedRows: number;
  /** Reports those dropped rows held. */
  readonly droppedReports: number;
  /** Rows dropped because the database refused them on their own while it wrote the others. */
  readonly rejectedRows: number;
  /** Reports those refused rows held. */
  readonly rejectedReports: number;
  readonly failedFlushes: number;
  /** Rows waiting: aggregated since the last flush plus those held after failures. */
  readonly bufferedRows: number;
}

/**
 * Durable per-minute metrics, written behind (docs/architecture.md: nothing on the hot path touches the
 * database). Reports and selections aggregate in memory per instance and minute; about once a
 * second everything aggregated is written as one transaction of additive upserts. When that
 * transaction fails, `SELECT 1` tells the two causes apart. The database is down: the rows stay
 * buffered (merged with what keeps arriving) and the write is retried with exponential backoff up
 * to 30 s; a bounded buffer drops its oldest minutes beyond `GATEWAY_METRICS_BUFFER_ROWS`, counted
 * and logged. The database answers, so some row is bad: the rows are written again in halves, and
 * halves of those, so one tenant's bad row cannot hold back the others'; a row that fails on its
 * own is dropped, counted and named in one warning (unless nothing at all could be written: then
 * the database is treated as unwritable and everything waits). A graceful stop flushes. Minutes
 * older than the retention are purged a minute after start and hourly after that.
 *
 * @example
 * aggregator.recordReport(projectId, instanceId, ingested.at, { outcome, latencyMs, receivedAt }, openLeases);
 * await aggregator.flush(); // tests; production flushes on a timer
 */
@Injectable()
export class MinuteAggregator
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Metrics');
  private pending = new Map<string, InstanceMinutes>();
  private pendingRows = 0;
  /** Rows a failed flush left behind, by `instanceId|minute`, merged with later ones. */
  private held = new Map<string, MinuteBucket>();
  private flushing: Promise<number> = Promise.resolve(0);
  private timers: NodeJS.Timeout[] = [];
  private readonly purgeSchedule = new PurgeSchedule(
    () => this.purge(),
    (error) => this.logger.error({ err: error }, 'Purging minute metrics failed'),
  );
  private failures = 0;
  private retryAt = 0;
  private counters = {
    flushedRows: 0,
    droppedRows: 0,
    droppedReports: 0,
    rejectedRows: 0,
    rejectedReports: 0,
    failedFlushes: 0,
  };
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: MinuteMetricsStore,
    @InjectClock() private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly breakers: BreakerService,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  get stats(): AggregatorStats {
    return { ...this.counters, bufferedRows: this.pendingRows + this.held.size };
  }

  /** `costPerUnit`: the instance's price in effect now, for a report without a cost (docs/figures.md). */
  recordReport(
    projectId: string,
    instanceId: string,
    at: number,
    report: MinuteReport,
    openLeases: number,
    costPerUnit?: number,
  ): void {
    this.bucket(projectId, instanceId, at).addReport(report, openLeases, costPerUnit);
  }

  recordSelection(projectId: string, instanceId: string, at: number, openLeases: number): void {
    this.bucket(projectId, instanceId, at).addSelection(openLeases);
  }

  /** Forgets what is not yet written of a deleted project (its rows could never be written). */
  dropProject(projectId: string): void {
    for (const [instanceId, minutes] of this.pending) {
      if (minutes.latest.projectId === projectId) {
        this.pendingRows -= 1 + minutes.older.size;
        this.pending.delete(instanceId);
      }
    }
    for (const [key, bucket] of this.held) if (bucket.projectId === projectId) this.held.delete(key);
  }

  /**
   * Writes everything aggregated, unless a failure's backoff has not elapsed (`force` ignores it).
   * Serialised: a flush that starts while one runs waits for it. Returns the rows written.
   */
  flush(force = false): Promise<number> {
    const run = this.flushing.then(() => this.write(force));
    this.flushing = run.catch(() => 0);
    return run;
  }

  /** Deletes minutes older than the retention. */
  async purge(): Promise<number> {
    const before = Math.floor(this.clock.now() / MINUTE_MS) * MINUTE_MS - this.config.metrics.retentionDays * DAY_MS;
    const removed = await this.store.purgeBefore(before);
    if (removed > 0)
      this.logger.log(`Purged ${removed} minute rows older than ${this.config.metrics.retentionDays} days`);
    return removed;
  }

  /** A deleted project's pending rows go: its instances' rows could never be written (foreign key). */
  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe('project.deleted', (event) => this.dropProject(event.projectId));
  }

  onApplicationBootstrap(): void {
    const flushTimer = setInterval(() => void this.flush(), this.config.metrics.flushIntervalMs);
    flushTimer.unref();
    this.timers = [flushTimer];
    this.purgeSchedule.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.purgeSchedule.stop();
    await this.flush(true);
  }

  /** Reports acknowledged while the HTTP server drained after `beforeApplicationShutdown`. */
  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    if (this.pendingRows + this.held.size > 0) await this.flush(true);
  }

  private bucket(projectId: string, instanceId: string, at: number): MinuteBucket {
    const minute = at - (at % MINUTE_MS);
    const minutes = this.pending.get(instanceId);
    if (minutes === undefined) {
      const latest = new MinuteBucket(projectId, instanceId, minute);
      this.pending.set(instanceId, { latest, older: new Map() });
      this.pendingRows++;
      return latest;
    }
    if (minutes.latest.minute === minute) return minutes.latest;
    let bucket = minutes.older.get(minute);
    if (bucket !== undefined) return bucket;
    bucket = new MinuteBucket(projectId, instanceId, minute);
    this.pendingRows++;
    // Stryker disable next-line EqualityOperator: the latest minute itself returned above, so `minute` never equals it here
    if (minute > minutes.latest.minute) {
      minutes.older.set(minutes.latest.minute, minutes.latest);
      minutes.latest = bucket;
    } else {
      minutes.older.set(minute, bucket);
    }
    return bucket;
  }

  private async write(force: boolean): Promise<number> {
    const now = this.clock.now();
    if (!force && now < this.retryAt) return 0;
    this.takePending();
    if (this.held.size === 0) return 0;
    const rows = [...this.held.values()];
    const current = now - (now % MINUTE_MS);
    for (const row of rows)
      if (row.minute >= current - MINUTE_MS) row.breakerState = this.breakers.stateOf(row.instanceId);
    try {
      await this.store.upsert(rows);
    } catch (error) {
      return this.salvage(error, now);
    }
    // Rows aggregated during the write are in `pending`, not in `held`: nothing is lost or doubled.
    this.held = new Map();
    this.counters.flushedRows += rows.length;
    this.writesWork();
    return rows.length;
  }

  /**
   * After a failed flush: when the database does not answer, everything stays held and the write
   * backs off. When it does, some row is bad: rows of deleted projects go, and the rest are
   * written apart so only rows that fail on their own are dropped.
   */
  private async salvage(error: unknown, now: number): Promise<number> {
    if (!(await this.store.ping())) {
      this.failed(error, now);
      return 0;
    }
    await this.dropOrphans();
    const salvage: Salvage = { written: 0, refused: [] };
    await this.writeApart([...this.held.values()], salvage);
    if (salvage.down !== undefined) {
      this.failed(salvage.down, now);
    } else if (salvage.written === 0 && salvage.refused.length > 0) {
      // Not one row went in: a database that refuses every write (read-only after a failover,
      // say) rather than a bad row. Keep everything; a later flush with other rows tells.
      this.failed(error, now);
    } else {
      this.reject(salvage.refused);
      this.writesWork();
    }
    return salvage.written;
  }

  /**
   * Writes `rows` in one transaction, else each half apart, recursively: a bad row costs about
   * 2·log2(n) transactions. A row that fails alone is refused if the database still answers.
   */
  private async writeApart(rows: readonly MinuteBucket[], salvage: Salvage): Promise<void> {
    if (rows.length === 0 || salvage.down !== undefined) return;
    try {
      await this.store.upsert(rows);
    } catch (error) {
      if (rows.length > 1) {
        const half = Math.ceil(rows.length / 2);
        await this.writeApart(rows.slice(0, half), salvage);
        await this.writeApart(rows.slice(half), salvage);
      } else if (await this.store.ping()) {
        salvage.refused.push({ bucket: rows[0], message: messageOf(error) });
      } else {
        salvage.down = error;
      }
      return;
    }
    for (const row of rows) this.held.delete(keyOf(row));
    salvage.written += rows.length;
    this.counters.flushedRows += rows.length;
  }

  /** Drops the rows the database refused on their own: counted, and named in one warning. */
  private reject(refused: readonly RefusedRow[]): void {
    if (refused.length === 0) return;
    let reports = 0;
    for (const { bucket } of refused) {
      this.held.delete(keyOf(bucket));
      reports += bucket.calls;
    }
    this.counters.rejectedRows += refused.length;
    this.counters.rejectedReports += reports;
    const rows = refused.slice(0, MAX_LOGGED_ROWS).map(({ bucket, message }) => ({
      projectId: bucket.projectId,
      instanceId: bucket.instanceId,
      minute: new Date(bucket.minute).toISOString(),
      error: message,
    }));
    this.logger.warn(
      { rows, rejectedRows: refused.length, reports },
      `The database refused ${refused.length} minute-metric rows on their own (${reports} reports): dropped; the other rows were written`,
    );
  }

  private writesWork(): void {
    if (this.failures > 0) {
      this.logger.log(`Minute metrics written again after ${this.failures} failed attempts`);
      const at = this.clock.now();
      this.events.publish({ type: 'write-behind.recovered', log: 'minute-metrics', failedAttempts: this.failures, at });
    }
    this.failures = 0;
    this.retryAt = 0;
  }

  /** Moves what was aggregated since the last flush into `held`, merging same-key rows. */
  private takePending(): void {
    // Stryker disable next-line ConditionalExpression: with no pending row the map is empty too; going on swaps an empty map for another
    if (this.pendingRows === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    this.pendingRows = 0;
    for (const minutes of pending.values()) {
      this.hold(minutes.latest);
      for (const bucket of minutes.older.values()) this.hold(bucket);
    }
  }

  private hold(bucket: MinuteBucket): void {
    const key = keyOf(bucket);
    const existing = this.held.get(key);
    if (existing) existing.merge(bucket);
    else this.held.set(key, bucket);
  }

  private failed(error: unknown, now: number): void {
    this.failures++;
    this.counters.failedFlushes++;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
    this.retryAt = now + backoff;
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.logger.error(
        { err: withoutQuery(error), bufferedRows: this.held.size, attempt: this.failures },
        `Writing minute metrics failed; retrying in ${backoff} ms with ${this.held.size} rows held`,
      );
    }
    if (this.failures === 1) {
      // Quoted values in a database's message are tenant data: not for a webhook either.
      const message = messageOf(error).replace(/'(?:[^'\\]|\\.)*'/g, "'…'");
      const held = this.held.size;
      this.events.publish({ type: 'write-behind.failed', log: 'minute-metrics', error: message, held, at: now });
    }
    const overflow = this.held.size - this.config.metrics.bufferRows;
    if (overflow > 0) this.dropOldest(overflow);
  }

  /**
   * After a failure: rows of a project deleted while they were held would fail every retry (the
   * foreign key), blocking everything else. Best effort — if the database is down this fails too.
   */
  private async dropOrphans(): Promise<void> {
    try {
      const projects = [...new Set([...this.held.values()].map((bucket) => bucket.projectId))];
      const existing = await this.store.existingProjects(projects);
      for (const projectId of projects) if (!existing.has(projectId)) this.dropProject(projectId);
    } catch {
      // The database is unavailable: the backoff retries later.
    }
  }

  private dropOldest(count: number): void {
    const oldest = [...this.held.entries()].sort((a, b) => a[1].minute - b[1].minute).slice(0, count);
    let reports = 0;
    for (const [key, bucket] of oldest) {
      this.held.delete(key);
      reports += bucket.calls;
    }
    this.counters.droppedRows += oldest.length;
    this.counters.droppedReports += reports;
    this.logger.warn(
      `Minute metrics buffer full (${this.config.metrics.bufferRows} rows): dropped the ${oldest.length} oldest rows (${reports} reports)`,
    );
  }
}

/** The key of a held row: instance and minute. */
function keyOf(bucket: MinuteBucket): string {
  return `${bucket.instanceId}|${bucket.minute}`;
}

/** The database's message, bounded: never the statement or its parameters. */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_LOGGED_MESSAGE ? `${message.slice(0, MAX_LOGGED_MESSAGE)}…` : message;
}

/**
 * A failed query's error as logged: its message (and stack), without the statement and the
 * parameters TypeORM's `QueryFailedError` carries (they hold every tenant's row).
 */
function withoutQuery(error: unknown): unknown {
  if (!(error instanceof Error) || !('parameters' in error || 'query' in error)) return error;
  const safe = new Error(messageOf(error));
  safe.name = error.name;
  safe.stack = error.stack;
  return safe;
}

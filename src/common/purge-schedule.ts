/** When a retention purge first runs after start, and how often after that. */
export interface PurgeScheduleOptions {
  /** Default one minute: after start-up's own work, yet soon enough that a node restarted more often than hourly still purges. */
  readonly firstDelayMs?: number;
  /** Default one hour. */
  readonly intervalMs?: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * Runs a retention purge a minute after start, then hourly. Without the first, delayed run a node
 * restarted more often than hourly (a crash loop, frequent deploys) would never purge, and its
 * table would grow without bound. Timers are unref'd: a pending purge never keeps the process up.
 *
 * @example
 * const schedule = new PurgeSchedule(() => this.purge(), (error) => logger.error({ err: error }, 'Purge failed'));
 * schedule.start(); // on bootstrap
 * schedule.stop(); // before shutdown
 */
export class PurgeSchedule {
  private first?: NodeJS.Timeout;
  private repeat?: NodeJS.Timeout;

  constructor(
    private readonly purge: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
    private readonly options: PurgeScheduleOptions = {},
  ) {}

  start(): void {
    this.stop();
    this.first = setTimeout(() => {
      this.first = undefined;
      this.run();
      this.repeat = setInterval(() => this.run(), this.options.intervalMs ?? HOUR_MS);
      this.repeat.unref();
    }, this.options.firstDelayMs ?? MINUTE_MS);
    this.first.unref();
  }

  stop(): void {
    clearTimeout(this.first);
    clearInterval(this.repeat);
    this.first = undefined;
    this.repeat = undefined;
  }

  private run(): void {
    this.purge().catch(this.onError);
  }
}

import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';
import { type ClusterConfig, describeRedis } from '../config/cluster-config';

/** Reconnect quickly (the budget is 5 s after Redis returns) but never spin. */
const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 500);

/**
 * This node's two connections to Redis (commands; pub/sub needs its own) and whether they are up.
 * Commands fail at once while Redis is down (no offline queue): callers keep deciding from local
 * state and catch up when {@link onUp} fires. Keys and channels are named through {@link key}, so
 * `GATEWAY_REDIS_PREFIX` covers all of them.
 *
 * @example
 * await link.command.set(link.key('breaker', id), blob);
 * link.onUp(() => this.resync());
 */
@Injectable()
export class RedisLink implements OnApplicationShutdown {
  readonly command: Redis;
  readonly subscriber: Redis;
  readonly nodeId: string;
  readonly prefix: string;
  /** Where Redis is, without secrets. */
  readonly target: string;
  private readonly logger = new Logger('Cluster');
  private up = false;
  /** Epoch ms of the last change between up and down. */
  private changedAt = Date.now();
  private everUp = false;
  private readonly upListeners = new Set<() => void>();
  private readonly downListeners = new Set<() => void>();
  private closing = false;

  constructor(config: ClusterConfig) {
    this.nodeId = config.nodeId;
    this.prefix = config.prefix;
    this.target = describeRedis(config.redis);
    const common: RedisOptions = {
      lazyConnect: true,
      retryStrategy,
      connectTimeout: 2000,
      maxRetriesPerRequest: 1,
      connectionName: `gateway:${config.nodeId}`,
    };
    const options = (extra: RedisOptions): [string, RedisOptions] | [RedisOptions] =>
      config.redis.kind === 'url'
        ? [config.redis.url, { ...common, ...extra }]
        : [
            {
              ...common,
              ...extra,
              sentinels: config.redis.sentinels.map((s) => ({ host: s.host, port: s.port })),
              name: config.redis.name,
              password: config.redis.password,
              db: config.redis.db,
              sentinelRetryStrategy: retryStrategy,
            },
          ];
    this.command = new Redis(...(options({ enableOfflineQueue: false }) as [RedisOptions]));
    this.subscriber = new Redis(...(options({}) as [RedisOptions]));
    for (const client of [this.command, this.subscriber]) {
      client.on('ready', () => this.changed());
      client.on('end', () => this.changed());
      client.on('close', () => this.changed());
      // ioredis reports every failed attempt; the state change is logged once in changed().
      client.on('error', () => undefined);
    }
  }

  /** Connects both clients; resolves once they are up or `timeoutMs` passed (then the node starts degraded). */
  async connect(timeoutMs: number): Promise<boolean> {
    const attempt = Promise.all([this.command.connect(), this.subscriber.connect()]).then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    const ok = await Promise.race([attempt, timeout]);
    if (!ok) this.logger.warn(`Redis (${this.target}) is not answering: deciding from local state until it does`);
    return ok;
  }

  get connected(): boolean {
    return this.up;
  }

  /** Epoch ms when the link last went up or down. */
  get since(): number {
    return this.changedAt;
  }

  /** A Redis key or channel name: the prefix, then the parts joined by ':'. */
  key(...parts: readonly string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Called each time both connections are up again (and the first time). Returns an unsubscribe. */
  onUp(listener: () => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  onDown(listener: () => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  /**
   * Closed last (after every module's `onModuleDestroy` and `beforeApplicationShutdown`), so the
   * stores can still commit what they queued during a graceful stop.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.command.quit(), this.subscriber.quit()]);
    this.command.disconnect();
    this.subscriber.disconnect();
  }

  private changed(): void {
    const up = this.command.status === 'ready' && this.subscriber.status === 'ready';
    if (up === this.up) return;
    this.up = up;
    this.changedAt = Date.now();
    if (this.closing) return;
    if (up) {
      if (this.everUp) this.logger.log(`Redis (${this.target}) is back: resynchronising`);
      else this.logger.log(`Cluster mode: node ${this.nodeId} on Redis ${this.target}`);
      this.everUp = true;
      this.notify(this.upListeners);
    } else {
      this.logger.error(`Lost Redis (${this.target}): deciding from local state until it returns`);
      this.notify(this.downListeners);
    }
  }

  private notify(listeners: ReadonlySet<() => void>): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'A cluster link listener failed');
      }
    }
  }
}

import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { GatewayError } from '../common/gateway-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { Principal } from '../tenancy/principal';
import { SlidingWindowThrottlerStorage, windowIdOf } from './sliding-window-throttler.storage';

type ThrottlerRecord = ReturnType<SlidingWindowThrottlerStorage['hit']>;

/** One throttler as {@link GatewayThrottlerGuard.throttleNow} applies it, its header names made once. */
interface HotThrottler {
  readonly name: string;
  readonly limit: number;
  readonly ttl: number;
  /** Lower-case header names (Fastify stores them so), or undefined when headers are off. */
  readonly headers: { limit: string; remaining: string; reset: string; retryAfter: string } | undefined;
}

/**
 * `@nestjs/throttler` after authentication: counted per API key (per admin, per IP on public
 * routes), answered with the envelope's 429 and `Retry-After`. The library's own `canActivate`
 * decides for every route Nest serves; only the hooks below are ours. The hot path's routes,
 * which Fastify serves directly (HotRoutes, ADR 0012), are counted by {@link throttleNow}: the
 * same budget, keys, headers and answer, without an execution context or a promise.
 */
@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
  private readonly disabled: boolean;
  private hot: readonly HotThrottler[] = [];
  /** Each principal's window ids, one per throttler: made once, not per request. */
  private readonly windowIds = new WeakMap<Principal, readonly string[]>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super(options, storage, new RouteMetadataCache(reflector));
    this.disabled = config.auth.throttlePerMinute === 0;
  }

  /**
   * The library's set-up, then a check that {@link throttleNow} decides as `canActivate` would:
   * the sliding-window storage, numeric limits and ttls, and none of the options it does not read
   * (`skipIf`, `ignoreUserAgents`, `getTracker`, `generateKey`, `blockDuration`). A configuration
   * that breaks it fails the start, not every hot request.
   */
  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    if (!(this.storageService instanceof SlidingWindowThrottlerStorage)) {
      throw new Error('GatewayThrottlerGuard.throttleNow needs the sliding-window throttler storage');
    }
    const common = Array.isArray(this.options) ? {} : this.options;
    const unread = (o: Partial<ThrottlerOptions>): unknown =>
      o.skipIf ?? o.ignoreUserAgents ?? o.getTracker ?? o.generateKey;
    if (unread(common)) {
      throw new Error('GatewayThrottlerGuard.throttleNow reads no skipIf, ignoreUserAgents, getTracker or generateKey');
    }
    for (const throttler of this.throttlers) {
      const { name, limit, ttl, blockDuration } = throttler;
      if (typeof limit !== 'number' || typeof ttl !== 'number' || blockDuration !== undefined || unread(throttler)) {
        throw new Error(`throttler ${name}: throttleNow needs a numeric limit and ttl and no other option`);
      }
    }
    this.hot = this.throttlers.map(({ name = 'default', limit, ttl, setHeaders }) => {
      const suffix = name === 'default' ? '' : `-${name}`;
      const prefix = this.headerPrefix.toLowerCase();
      return {
        name,
        limit: limit as number,
        ttl: ttl as number,
        headers:
          (setHeaders ?? this.commonOptions.setHeaders ?? true)
            ? {
                limit: `${prefix}-limit${suffix}`,
                remaining: `${prefix}-remaining${suffix}`,
                reset: `${prefix}-reset${suffix}`,
                retryAfter: `retry-after${suffix}`,
              }
            : undefined,
      };
    });
  }

  /** `GATEWAY_THROTTLE_PER_MINUTE=0`: nothing is counted at all. */
  protected override shouldSkip(): Promise<boolean> {
    return Promise.resolve(this.disabled);
  }

  /**
   * Counts a request whose principal is on it (or none: by IP) against every throttler, as
   * `canActivate` does for a route without throttler metadata; throws the 429 when over budget.
   * Sets the rate-limit headers on `reply` when they are on.
   */
  throttleNow(request: { user?: Principal; ip?: string }, reply: FastifyReply): void {
    if (this.disabled) return;
    // The storage and the numbers were checked at start-up (onModuleInit).
    const storage = this.storageService as SlidingWindowThrottlerStorage;
    const ids = this.windowIdsOf(request);
    for (let i = 0; i < this.hot.length; i++) {
      const { limit, ttl, headers } = this.hot[i];
      const record = storage.hitWindow(ids[i], ttl, limit);
      if (record.isBlocked) {
        if (headers) void reply.header(headers.retryAfter, record.timeToBlockExpire);
        throw throttled(limit, record);
      }
      if (headers) {
        void reply.header(headers.limit, limit);
        void reply.header(headers.remaining, Math.max(0, limit - record.totalHits));
        void reply.header(headers.reset, record.timeToExpire);
      }
    }
  }

  /** The ids of the windows that count the request, as the library's path names them (one budget on both). */
  private windowIdsOf(request: { user?: Principal; ip?: string }): readonly string[] {
    const principal = request.user;
    let ids = principal === undefined ? undefined : this.windowIds.get(principal);
    if (ids === undefined) {
      const tracker = trackerOf(request);
      ids = this.hot.map(({ name }) => windowIdOf(keyOf(tracker, name), name));
      if (principal !== undefined) this.windowIds.set(principal, ids);
    }
    return ids;
  }

  protected override getTracker(request: { user?: Principal; ip?: string }): Promise<string> {
    return Promise.resolve(trackerOf(request));
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return keyOf(tracker, throttlerName);
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw throttled(detail.limit, detail);
  }
}

/** Who a request is counted for: its API key, its admin, else its IP. */
function trackerOf(request: { user?: Principal; ip?: string }): string {
  const principal = request.user;
  if (principal?.kind === 'project') return `key:${principal.keyId}`;
  if (principal?.kind === 'admin') return `admin:${principal.userId}`;
  return `ip:${request.ip ?? 'unknown'}`;
}

/**
 * One budget per tracker across all routes ("per API key"), and no hashing per request: the
 * library's default key is a SHA-256 of class, handler and tracker — a budget per route.
 */
function keyOf(tracker: string, throttlerName: string): string {
  return `${throttlerName}:${tracker}`;
}

/** The envelope's 429, with `Retry-After` in seconds (at least 1). */
function throttled(limit: number, record: Pick<ThrottlerRecord, 'timeToBlockExpire' | 'timeToExpire'>): GatewayError {
  const retryAfterSeconds = Math.max(1, record.timeToBlockExpire || record.timeToExpire);
  return new GatewayError('THROTTLED', `Too many requests: at most ${limit} per minute`, {
    details: { retryAfterMs: retryAfterSeconds * 1000 },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/**
 * The library's `canActivate` reads six metadata keys of the route (skip, limit, ttl, block
 * duration, tracker, key generator) on the handler and its class for every request, each a
 * prototype walk in reflect-metadata. A route's metadata is fixed once the app is built, so each
 * answer is kept per key and target: the guard decides exactly as before, with a Map and a
 * WeakMap lookup per read.
 */
export class RouteMetadataCache extends Reflector {
  private readonly answers = new Map<unknown, WeakMap<object, { readonly value: unknown }>>();

  constructor(private readonly inner: Reflector) {
    super();
  }

  override get<TResult = unknown, TKey = unknown>(metadataKey: TKey, target: object): TResult {
    let byTarget = this.answers.get(metadataKey);
    if (byTarget === undefined) this.answers.set(metadataKey, (byTarget = new WeakMap()));
    let answer = byTarget.get(target);
    if (answer === undefined) {
      answer = { value: this.inner.get(metadataKey, target as () => void) };
      byTarget.set(target, answer);
    }
    return answer.value as TResult;
  }
}

import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { GatewayError } from '../common/gateway-error';
import type { Principal } from '../tenancy/principal';

/**
 * `@nestjs/throttler` after authentication: counted per API key (per admin, per IP on public
 * routes), answered with the envelope's 429 and `Retry-After`. The library's own `canActivate`
 * decides; only the hooks below are ours.
 */
@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
  ) {
    super(options, storage, new RouteMetadataCache(reflector));
  }

  protected override getTracker(request: { user?: Principal; ip?: string }): Promise<string> {
    const principal = request.user;
    if (principal?.kind === 'project') return Promise.resolve(`key:${principal.keyId}`);
    if (principal?.kind === 'admin') return Promise.resolve(`admin:${principal.userId}`);
    return Promise.resolve(`ip:${request.ip ?? 'unknown'}`);
  }

  /**
   * One budget per tracker across all routes ("per API key"), and no hashing per request: the
   * library's default key is a SHA-256 of class, handler and tracker — a budget per route.
   */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfterSeconds = Math.max(1, detail.timeToBlockExpire || detail.timeToExpire);
    throw new GatewayError('THROTTLED', `Too many requests: at most ${detail.limit} per minute`, {
      details: { retryAfterMs: retryAfterSeconds * 1000 },
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
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

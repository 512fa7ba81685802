import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { GatewayError } from '../common/gateway-error';
import type { Principal } from '../tenancy/principal';

/**
 * `@nestjs/throttler` after authentication: counted per API key (per admin, per IP on public
 * routes), answered with the envelope's 429 and `Retry-After`. The library's own `canActivate`
 * decides; only the hooks below are ours.
 */
@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
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

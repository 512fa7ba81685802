import { type ExecutionContext, Injectable } from '@nestjs/common';
import {
  type ThrottlerGenerateKeyFunction,
  type ThrottlerGetTrackerFunction,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerOptions,
} from '@nestjs/throttler';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import { GatewayError } from '../common/gateway-error';
import type { Principal } from '../tenancy/principal';

interface Plan {
  readonly throttler: ThrottlerOptions;
  readonly limit: number;
  readonly ttl: number;
  readonly blockDuration: number;
  readonly getTracker: ThrottlerGetTrackerFunction;
  readonly generateKey: ThrottlerGenerateKeyFunction;
}

/**
 * `@nestjs/throttler` after authentication: counted per API key (per admin, per IP on public
 * routes), answered with the envelope's 429 and `Retry-After`.
 */
@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
  /**
   * Per handler, the resolved throttlers (or null when one has a dynamic value): the library
   * re-reads six metadata keys per throttler on every request, ~10 % of a select in a profile.
   */
  private readonly plans = new WeakMap<object, readonly Plan[] | null>();

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const plan = this.planFor(context);
    if (plan === null) return super.canActivate(context);
    if (this.commonOptions.skipIf?.(context)) return true;
    for (const step of plan) {
      if (!(await this.handleRequest({ context, ...step }))) return false;
    }
    return true;
  }

  private planFor(context: ExecutionContext): readonly Plan[] | null {
    const handler = context.getHandler();
    const cached = this.plans.get(handler);
    if (cached !== undefined) return cached;
    const targets = [handler, context.getClass()];
    const read = <T>(key: string, name: string): T | undefined =>
      this.reflector.getAllAndOverride<T | undefined>(key + name, targets);
    const steps: Plan[] = [];
    let dynamic = false;
    for (const throttler of this.throttlers) {
      const name = throttler.name ?? 'default';
      if (read<boolean>(THROTTLER_SKIP, name)) continue;
      const limit = read<unknown>(THROTTLER_LIMIT, name) ?? throttler.limit;
      const ttl = read<unknown>(THROTTLER_TTL, name) ?? throttler.ttl;
      const blockDuration = read<unknown>(THROTTLER_BLOCK_DURATION, name) ?? throttler.blockDuration ?? ttl;
      const getTracker =
        read<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER, name) ??
        throttler.getTracker ??
        this.commonOptions.getTracker;
      const generateKey =
        read<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR, name) ??
        throttler.generateKey ??
        this.commonOptions.generateKey;
      const numeric = typeof limit === 'number' && typeof ttl === 'number' && typeof blockDuration === 'number';
      if (!numeric || !getTracker || !generateKey) {
        dynamic = true;
        break;
      }
      steps.push({ throttler, limit, ttl, blockDuration, getTracker, generateKey });
    }
    const plan = dynamic ? null : steps;
    this.plans.set(handler, plan);
    return plan;
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

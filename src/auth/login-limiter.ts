import { Injectable } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';

const MAX_FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const MAX_TRACKED = 50_000;

/**
 * At most 5 failed logins per username + IP per 15 minutes; the 6th attempt is answered 429
 * without checking the password. A success clears the count.
 */
@Injectable()
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(@InjectClock() private readonly clock: Clock) {}

  assertAllowed(username: string, ip: string): void {
    const entry = this.current(`${username}\u0000${ip}`);
    if (entry && entry.count >= MAX_FAILURES) {
      const retryAfterMs = entry.since + WINDOW_MS - this.clock.now();
      throw new GatewayError('LOGIN_THROTTLED', 'Too many failed logins; try again later', {
        details: { retryAfterMs },
        headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) },
      });
    }
  }

  recordFailure(username: string, ip: string): void {
    const key = `${username}\u0000${ip}`;
    const entry = this.current(key) ?? { count: 0, since: this.clock.now() };
    entry.count += 1;
    if (!this.failures.has(key) && this.failures.size >= MAX_TRACKED) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, entry);
  }

  recordSuccess(username: string, ip: string): void {
    this.failures.delete(`${username}\u0000${ip}`);
  }

  private current(key: string): { count: number; since: number } | undefined {
    const entry = this.failures.get(key);
    if (entry && this.clock.now() - entry.since >= WINDOW_MS) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }
}

import { Injectable } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { foldedUsername } from '../tenancy/usernames';

/** Failed logins one username may take from one IP in a window. */
export const MAX_FAILURES_PER_NAME = 5;
/** Failed logins one IP may make in a window, whatever the usernames (unknown ones included). */
export const MAX_FAILURES_PER_IP = 20;
/** The window of both counts, from the first failure it holds. */
export const FAILURE_WINDOW_MS = 15 * 60_000;

const MAX_TRACKED = 50_000;

interface Failures {
  count: number;
  readonly since: number;
}

/** Failures per key in fixed windows that open at a key's first failure; bounded, the oldest key goes first. */
class FailureCounts {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  /** When the key may try again (epoch ms), or undefined when it may now. */
  blockedUntil(key: string): number | undefined {
    const entry = this.current(key);
    return entry !== undefined && entry.count >= this.max ? entry.since + FAILURE_WINDOW_MS : undefined;
  }

  add(key: string): void {
    const entry = this.current(key);
    if (entry !== undefined) {
      entry.count += 1;
      return;
    }
    if (this.entries.size >= MAX_TRACKED) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { count: 1, since: this.clock.now() });
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private current(key: string): Failures | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && this.clock.now() - entry.since >= FAILURE_WINDOW_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/**
 * Failed-login throttles, checked before any password is hashed:
 * - per username and IP: 5 failures per 15 minutes. The username is folded (canonical, diacritics
 *   dropped), so `admin`, `ADMIN`, `admin ` and `ádmin` share one count. A success clears it.
 * - per IP: 20 failures per 15 minutes, unknown usernames included, so one address cannot spray
 *   names. A success does not clear it (a known password must not buy more guesses).
 * Beyond either: 429 `LOGIN_THROTTLED` with `Retry-After`, even with the right password.
 */
@Injectable()
export class LoginLimiter {
  private readonly perName: FailureCounts;
  private readonly perIp: FailureCounts;

  constructor(@InjectClock() private readonly clock: Clock) {
    this.perName = new FailureCounts(clock, MAX_FAILURES_PER_NAME);
    this.perIp = new FailureCounts(clock, MAX_FAILURES_PER_IP);
  }

  assertAllowed(username: string, ip: string): void {
    const until = Math.max(this.perName.blockedUntil(nameKey(username, ip)) ?? 0, this.perIp.blockedUntil(ip) ?? 0);
    if (until === 0) return;
    const retryAfterMs = Math.max(1000, until - this.clock.now());
    throw new GatewayError('LOGIN_THROTTLED', 'Too many failed logins; try again later', {
      details: { retryAfterMs },
      headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) },
    });
  }

  recordFailure(username: string, ip: string): void {
    this.perName.add(nameKey(username, ip));
    this.perIp.add(ip);
  }

  recordSuccess(username: string, ip: string): void {
    this.perName.clear(nameKey(username, ip));
  }
}

function nameKey(username: string, ip: string): string {
  return `${foldedUsername(username)}\u0000${ip}`;
}

import { Injectable } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { LruMap } from '../state/lru-map';
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

/**
 * A login attempt already counted as a failure, per name and per IP, before its password is
 * hashed: settle it once the outcome is known. Settling twice does nothing.
 */
export interface LoginAttempt {
  /** The password was wrong: the reserved failure stays counted. */
  failed(): void;
  /** The password matched: the name's failures are cleared and the IP's reserved one given back. */
  succeeded(): void;
  /** The password was never judged (the hash queue was full, the database failed): both are given back. */
  abandoned(): void;
}

/** Failures per key in fixed windows that open at a key's first failure; bounded, the oldest key goes first. */
class FailureCounts {
  /** In insertion order (an entry is only ever set once per window), so the oldest is evicted first. */
  private readonly entries = new LruMap<Failures>();

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  /** When the key may try again (epoch ms), or undefined when it may now. */
  blockedUntil(key: string): number | undefined {
    const entry = this.current(key);
    return entry !== undefined && entry.count >= this.max ? entry.since + FAILURE_WINDOW_MS : undefined;
  }

  /** Counts one failure; returns the window it was counted in (to give it back). */
  add(key: string): Failures {
    const entry = this.current(key);
    if (entry !== undefined) {
      entry.count += 1;
      return entry;
    }
    if (this.entries.size >= MAX_TRACKED) {
      const oldest = this.entries.oldest();
      if (oldest !== undefined) this.entries.delete(oldest[0]);
    }
    const fresh = { count: 1, since: this.clock.now() };
    this.entries.set(key, fresh);
    return fresh;
  }

  /** Takes back one failure counted in `window`; nothing when that window is over or was cleared. */
  giveBack(key: string, window: Failures): void {
    if (this.entries.get(key) !== window || window.count === 0) return;
    window.count -= 1;
    if (window.count === 0) this.entries.delete(key);
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
 *
 * A login reserves its attempt ({@link LoginLimiter.reserve}) — counts it as a failure — before hashing and gives it
 * back on success: attempts waiting for the hash queue are counted too, so simultaneous guesses
 * cannot exceed either cap. The counts live in this process's memory: each gateway node keeps its
 * own.
 */
@Injectable()
export class LoginLimiter {
  private readonly perName: FailureCounts;
  private readonly perIp: FailureCounts;

  constructor(@InjectClock() private readonly clock: Clock) {
    this.perName = new FailureCounts(clock, MAX_FAILURES_PER_NAME);
    this.perIp = new FailureCounts(clock, MAX_FAILURES_PER_IP);
  }

  /**
   * Admits an attempt and counts it as a failure at once, per name and per IP; the caller settles
   * it when the password has been judged. Throws 429 `LOGIN_THROTTLED` when either count is full.
   */
  reserve(username: string, ip: string): LoginAttempt {
    this.assertAllowed(username, ip);
    const name = nameKey(username, ip);
    const nameWindow = this.perName.add(name);
    const ipWindow = this.perIp.add(ip);
    let settled = false;
    const settle = (giveBack: () => void) => () => {
      if (settled) return;
      settled = true;
      giveBack();
    };
    return {
      failed: settle(() => undefined),
      succeeded: settle(() => {
        this.perName.clear(name);
        this.perIp.giveBack(ip, ipWindow);
      }),
      abandoned: settle(() => {
        this.perName.giveBack(name, nameWindow);
        this.perIp.giveBack(ip, ipWindow);
      }),
    };
  }

  /**
   * Throws 429 `LOGIN_THROTTLED` (with `Retry-After` until the fuller window ends) when the name
   * on this IP, or the IP itself, has used up its failures; counts nothing.
   */
  assertAllowed(username: string, ip: string): void {
    const until = Math.max(this.perName.blockedUntil(nameKey(username, ip)) ?? 0, this.perIp.blockedUntil(ip) ?? 0);
    if (until === 0) return;
    const retryAfterMs = Math.max(1000, until - this.clock.now());
    throw new GatewayError('LOGIN_THROTTLED', 'Too many failed logins; try again later', {
      details: { retryAfterMs },
      headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) },
    });
  }

  /** Counts a failure after the fact, per name and per IP (what a failed {@link LoginLimiter.reserve} leaves). */
  recordFailure(username: string, ip: string): void {
    this.perName.add(nameKey(username, ip));
    this.perIp.add(ip);
  }

  /** Clears the name's failures on this IP; the IP's count stays (a known password buys no guesses). */
  recordSuccess(username: string, ip: string): void {
    this.perName.clear(nameKey(username, ip));
  }
}

function nameKey(username: string, ip: string): string {
  return `${foldedUsername(username)}\u0000${ip}`;
}

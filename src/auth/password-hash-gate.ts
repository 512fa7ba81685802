import { availableParallelism } from 'node:os';
import { CostBudget } from '../common/cost-budget';
import { GatewayError } from '../common/gateway-error';

/** Password checks that may wait for a slot; beyond them a login is refused at once. */
export const HASH_QUEUE_LENGTH = 8;

/** What a refused login is told to wait, seconds: a queue this short drains well within it. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Password verifications (scrypt, ~50 ms of a core each) in flight at once: half the cores, at
 * least 1, at most 2 — whatever the login traffic, the other cores keep serving the tenants.
 */
export function defaultHashConcurrency(cores = availableParallelism()): number {
  return Math.min(2, Math.max(1, Math.floor(cores / 2)));
}

/** Password checks started per second on this node by default (`GATEWAY_LOGIN_HASHES_PER_SECOND`). */
export const DEFAULT_HASHES_PER_SECOND = 5;

/** The rate of {@link PasswordHashGate} and its clock (tests pass a fake one). */
export interface HashRate {
  /** Password checks accepted per second, a second's worth at once; 0 turns the rate off. */
  readonly perSecond: number;
  readonly now?: () => number;
}

/**
 * Bounds the CPU the login can take: at most `perSecond` password checks are accepted a second
 * (one second's worth at once), at most `concurrency` hashes run at once, at most `queueLength`
 * more wait for a slot (first come, first served), and any further attempt is answered 429
 * `LOGIN_THROTTLED` with `Retry-After` before hashing anything. So a flood of anonymous logins —
 * unknown usernames cost a hash too, so that timing does not reveal names; spoofed addresses
 * defeat the per-IP limit — takes at most `perSecond` × ~50 ms of one core a second (a quarter
 * of a core by default), whatever the number of addresses it comes from. Provided by a factory
 * (`auth.module.ts`).
 */
export class PasswordHashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly rate: CostBudget;
  private readonly now: () => number;

  constructor(
    private readonly concurrency = defaultHashConcurrency(),
    private readonly queueLength = HASH_QUEUE_LENGTH,
    rate: HashRate = { perSecond: DEFAULT_HASHES_PER_SECOND },
  ) {
    this.rate = new CostBudget(rate.perSecond);
    this.now = rate.now ?? Date.now;
  }

  /**
   * Runs `task` (which hashes a password) when a slot is free; throws LOGIN_THROTTLED when the
   * second's checks are spent or the queue is full.
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const now = this.now();
    const waitMs = this.rate.waitMs('', now, 1);
    if (waitMs > 0) throw throttled(waitMs, RATE_SPENT);
    this.rate.charge('', 1, now);
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * LOGIN_THROTTLED when this second's password checks are spent, else undefined — without taking
   * one: the early refusal of a login, before its body is read.
   */
  refusal(): GatewayError | undefined {
    const waitMs = this.rate.waitMs('', this.now(), 1);
    return waitMs > 0 ? throttled(waitMs, RATE_SPENT) : undefined;
  }

  /** Hashes running now. */
  get inFlight(): number {
    return this.running;
  }

  /** Attempts waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queueLength) {
      return Promise.reject(throttled(RETRY_AFTER_SECONDS * 1000, 'Too many logins at once; try again in a moment'));
    }
    // The slot is handed over by release(): `running` stays counted for the next task.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}

const RATE_SPENT = "This second's password checks on this node are spent; try again in a moment";

function throttled(retryAfterMs: number, message: string): GatewayError {
  return new GatewayError('LOGIN_THROTTLED', message, {
    details: { retryAfterMs },
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  });
}

import { availableParallelism } from 'node:os';
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

/**
 * Bounds the CPU the login can take: at most `concurrency` password hashes run at once, at most
 * `queueLength` more wait for a slot (first come, first served), and any further attempt is
 * answered 429 `LOGIN_THROTTLED` with `Retry-After` before hashing anything. So a flood of
 * anonymous logins — unknown usernames cost a hash too, so that timing does not reveal names —
 * cannot saturate the cores, whatever the number of addresses it comes from. Provided by a
 * factory (`auth.module.ts`).
 */
export class PasswordHashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency = defaultHashConcurrency(),
    private readonly queueLength = HASH_QUEUE_LENGTH,
  ) {}

  /** Runs `task` (which hashes a password) when a slot is free; throws LOGIN_THROTTLED when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
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
      return Promise.reject(
        new GatewayError('LOGIN_THROTTLED', 'Too many logins at once; try again in a moment', {
          details: { retryAfterMs: RETRY_AFTER_SECONDS * 1000 },
          headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        }),
      );
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

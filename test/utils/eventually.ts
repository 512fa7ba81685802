import { setTimeout as sleep } from 'node:timers/promises';

/** How long {@link eventually} keeps trying, and how often. */
export interface EventuallyOptions {
  /** The deadline, from the call: an attempt started after it is not made. */
  readonly timeoutMs: number;
  /** Pause between attempts (default 20 ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the error message ("B offers the instance"). */
  readonly what?: string;
}

/**
 * Retries `probe` until it returns without throwing, or fails with its last error once the deadline
 * passed. For state that crosses processes: poll with a deadline, never sleep a fixed time. An
 * attempt started before the deadline counts even when it answers just after it.
 *
 * @example
 * await eventually(async () => expect((await health(b)).cluster.status).toBe('CONNECTED'), {
 *   timeoutMs: 1000,
 *   what: 'B is connected',
 * });
 */
export async function eventually<T>(probe: () => Promise<T> | T, options: EventuallyOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts++;
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(options.intervalMs ?? 20, left));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  const error = new Error(
    `${options.what ?? 'condition'}: not met within ${options.timeoutMs} ms ` +
      `(${attempts} attempts over ${Date.now() - started} ms); last failure:\n${reason}`,
  );
  error.cause = lastError;
  throw error;
}

/**
 * Like `Promise.all`, but waits for every promise to settle before failing with the first
 * rejection: a poll still running on another node must not outlive the test that started it.
 *
 * @example
 * await allSettled([b, c].map((node) => eventually(() => offers(node), { timeoutMs: 1000 })));
 */
export async function allSettled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

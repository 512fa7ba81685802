import { Inject } from '@nestjs/common';

/**
 * Where time comes from. Everything that measures, expires or buckets by time injects a Clock,
 * so that tests can drive time with {@link FakeClock} instead of sleeping.
 *
 * @example
 * constructor(@InjectClock() private readonly clock: Clock) {}
 * const expiresAt = this.clock.now() + ttlMs;
 */
export interface Clock {
  /** Wall-clock epoch milliseconds. */
  now(): number;
}

/** Injection token of {@link Clock}. */
export const Clock = Symbol('Clock');

export const InjectClock = (): ParameterDecorator => Inject(Clock);

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/** A clock that only moves when told to. For tests. */
export class FakeClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error('FakeClock cannot go backwards');
    this.current += ms;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }
}

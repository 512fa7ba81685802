import { FakeClock } from '../common/clock';
import type { GatewayError } from '../common/gateway-error';
import { FAILURE_WINDOW_MS, LoginLimiter, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_NAME } from './login-limiter';

/** The error `assertAllowed` throws, or undefined when the attempt may go ahead. */
function refusal(limiter: LoginLimiter, username: string, ip: string): GatewayError | undefined {
  try {
    limiter.assertAllowed(username, ip);
    return undefined;
  } catch (error) {
    return error as GatewayError;
  }
}

describe('LoginLimiter', () => {
  let clock: FakeClock;
  let limiter: LoginLimiter;
  beforeEach(() => {
    clock = new FakeClock();
    limiter = new LoginLimiter(clock);
  });

  const fail = (username: string, ip: string, times: number) => {
    for (let i = 0; i < times; i += 1) limiter.recordFailure(username, ip);
  };

  describe('per username and IP', () => {
    it(`admits ${MAX_FAILURES_PER_NAME} failures, then refuses with LOGIN_THROTTLED and Retry-After`, () => {
      fail('admin', '10.0.0.1', MAX_FAILURES_PER_NAME - 1);
      expect(refusal(limiter, 'admin', '10.0.0.1')).toBeUndefined();
      limiter.recordFailure('admin', '10.0.0.1');
      const error = refusal(limiter, 'admin', '10.0.0.1');
      expect(error?.code).toBe('LOGIN_THROTTLED');
      expect(error?.headers).toEqual({ 'Retry-After': String(FAILURE_WINDOW_MS / 1000) });
      expect(error?.details).toEqual({ retryAfterMs: FAILURE_WINDOW_MS });
    });

    it('counts case, accent, width and space variants of a name as one', () => {
      for (const variant of ['admin', 'ADMIN', ' admin ', 'ádmin', 'ａｄｍｉｎ']) limiter.recordFailure(variant, 'ip');
      expect(refusal(limiter, 'Admín', 'ip')?.code).toBe('LOGIN_THROTTLED');
      expect(refusal(limiter, 'someone-else', 'ip')).toBeUndefined();
    });

    it('keeps other addresses apart', () => {
      fail('admin', 'ip-a', MAX_FAILURES_PER_NAME);
      expect(refusal(limiter, 'admin', 'ip-b')).toBeUndefined();
    });

    it('is cleared by a success', () => {
      fail('admin', 'ip', MAX_FAILURES_PER_NAME - 1);
      limiter.recordSuccess('ADMIN', 'ip');
      fail('admin', 'ip', MAX_FAILURES_PER_NAME - 1);
      expect(refusal(limiter, 'admin', 'ip')).toBeUndefined();
    });

    it('forgets the failures once the window since the first one is over, with Retry-After counting down', () => {
      fail('admin', 'ip', MAX_FAILURES_PER_NAME);
      clock.advance(FAILURE_WINDOW_MS - 60_000);
      expect(refusal(limiter, 'admin', 'ip')?.headers).toEqual({ 'Retry-After': '60' });
      clock.advance(60_000);
      expect(refusal(limiter, 'admin', 'ip')).toBeUndefined();
    });
  });

  describe('per IP', () => {
    it(`refuses any name after ${MAX_FAILURES_PER_IP} failures from one address, unknown names included`, () => {
      for (let i = 0; i < MAX_FAILURES_PER_IP - 1; i += 1) limiter.recordFailure(`nobody-${i}`, 'ip');
      expect(refusal(limiter, 'admin', 'ip')).toBeUndefined();
      limiter.recordFailure('nobody-last', 'ip');
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
      expect(refusal(limiter, 'admin', 'another-ip')).toBeUndefined();
    });

    it('is not cleared by a success (a known password buys no more guesses)', () => {
      for (let i = 0; i < MAX_FAILURES_PER_IP - 1; i += 1) limiter.recordFailure(`nobody-${i}`, 'ip');
      limiter.recordSuccess('viewer', 'ip');
      limiter.recordFailure('nobody-again', 'ip');
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });

    it('lifts after the window', () => {
      for (let i = 0; i < MAX_FAILURES_PER_IP; i += 1) limiter.recordFailure(`nobody-${i}`, 'ip');
      clock.advance(FAILURE_WINDOW_MS);
      expect(refusal(limiter, 'admin', 'ip')).toBeUndefined();
    });
  });

  describe('reserve: an attempt counts before its password is hashed', () => {
    it(`admits ${MAX_FAILURES_PER_NAME} unsettled attempts for one name, then refuses`, () => {
      for (let i = 0; i < MAX_FAILURES_PER_NAME; i += 1) limiter.reserve('admin', 'ip');
      expect(() => limiter.reserve('ADMIN', 'ip')).toThrow(expect.objectContaining({ code: 'LOGIN_THROTTLED' }));
    });

    it(`admits ${MAX_FAILURES_PER_IP} unsettled attempts from one IP, whatever the names`, () => {
      for (let i = 0; i < MAX_FAILURES_PER_IP; i += 1) limiter.reserve(`name-${i}`, 'ip');
      expect(refusal(limiter, 'someone', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });

    it('a failed attempt stays counted', () => {
      for (let i = 0; i < MAX_FAILURES_PER_NAME; i += 1) limiter.reserve('admin', 'ip').failed();
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });

    it("a success clears the name's count and gives the IP's reservation back", () => {
      for (let i = 0; i < MAX_FAILURES_PER_IP - 1; i += 1) limiter.reserve(`name-${i}`, 'ip').failed();
      for (let i = 0; i < 3; i += 1) limiter.reserve('admin', 'ip').succeeded();
      limiter.reserve('last-guess', 'ip').failed();
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });

    it('an abandoned attempt (never judged) gives both reservations back; settling twice does nothing', () => {
      const attempt = limiter.reserve('admin', 'ip');
      for (let i = 0; i < MAX_FAILURES_PER_NAME - 1; i += 1) limiter.reserve('admin', 'ip').failed();
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
      attempt.abandoned();
      attempt.abandoned();
      attempt.succeeded();
      expect(refusal(limiter, 'admin', 'ip')).toBeUndefined();
      limiter.reserve('admin', 'ip').failed();
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });

    it('giving back after the window is over leaves the next window alone', () => {
      const late = limiter.reserve('admin', 'ip');
      clock.advance(FAILURE_WINDOW_MS);
      for (let i = 0; i < MAX_FAILURES_PER_NAME; i += 1) limiter.reserve('admin', 'ip').failed();
      late.abandoned();
      expect(refusal(limiter, 'admin', 'ip')?.code).toBe('LOGIN_THROTTLED');
    });
  });
});

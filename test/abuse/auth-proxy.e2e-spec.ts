import { __resetOutOfContextForTests as resetPinoLogger } from 'nestjs-pino/PinoLogger';
import { LogCapture } from '../utils/log-capture';
import { createTestApp, type TestApp } from '../utils/test-app';

/**
 * Issue #15 review, M2: `GATEWAY_TRUST_PROXY=true` trusts every hop, so a client chooses its own
 * IP with the leftmost `X-Forwarded-For` — and with it a fresh per-IP login budget per request.
 * The value stays possible (some platforms need it), but start-up says loudly what it costs; a
 * hop count or the proxy's addresses keep the budget.
 */

async function start(trustProxy: string, capture = new LogCapture()): Promise<TestApp> {
  // nestjs-pino keeps the first app's logger for the whole file; each start logs into its own capture.
  resetPinoLogger();
  return createTestApp({
    env: { LOG_LEVEL: 'info', GATEWAY_THROTTLE_PER_MINUTE: '0', GATEWAY_TRUST_PROXY: trustProxy },
    logDestination: capture,
  });
}

/** 30 failed logins, each claiming another client IP in `X-Forwarded-For`; how many were throttled. */
async function rotatingFailures(gateway: TestApp): Promise<number> {
  let throttled = 0;
  for (let i = 0; i < 30; i += 1) {
    const res = await gateway
      .http()
      .post('/api/admin/auth/login')
      .set('x-forwarded-for', `203.0.113.${i + 1}`)
      .send({ username: `nobody-${i}`, password: 'wrong-password' });
    if (res.status === 429) throttled += 1;
  }
  return throttled;
}

describe('abuse: GATEWAY_TRUST_PROXY', () => {
  it('true: start-up warns that every hop is trusted (clients choose their IP), naming the safer values', async () => {
    const capture = new LogCapture();
    const gateway = await start('true', capture);
    try {
      const warnings = capture.lines('GATEWAY_TRUST_PROXY').filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toMatch(/X-Forwarded-For/);
      expect(warnings[0].msg).toMatch(/hop count/);
      // What the warning is about: a fresh budget per claimed address.
      expect(await rotatingFailures(gateway)).toBe(0);
    } finally {
      await gateway.close();
    }
  });

  it('a hop count: no warning', async () => {
    const capture = new LogCapture();
    await (await start('1', capture)).close();
    expect(capture.lines('GATEWAY_TRUST_PROXY')).toEqual([]);
  });

  it("the proxy's addresses: no warning, and a client that is not one of them cannot choose its IP", async () => {
    const capture = new LogCapture();
    const gateway = await start('10.0.0.0/8, fd00::/8, 192.168.0.1', capture);
    try {
      expect(capture.lines('GATEWAY_TRUST_PROXY')).toEqual([]);
      expect(await rotatingFailures(gateway)).toBe(10);
    } finally {
      await gateway.close();
    }
  });
});

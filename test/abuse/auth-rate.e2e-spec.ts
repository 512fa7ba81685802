import { PasswordHashGate } from '../../src/auth/password-hash-gate';
import { TEST_ADMIN, createTestApp, type TestApp } from '../utils/test-app';

/** The node-wide rate these tests run with (the default is 5 a second). */
const RATE = 3;

/**
 * Issue #15, finding 7 (the CPU half): the per-name and per-IP limits do not hold a flood from
 * spoofed or many addresses, and a bounded hash queue still let one core hash without pause
 * (`npm run bench:abuse`: another tenant's p99 grew ~4×). Password checks now start at most
 * `GATEWAY_LOGIN_HASHES_PER_SECOND` a second on a node, and beyond it a login is refused before its
 * body is read — whatever its address, its name, or whether its password is right.
 */
describe('abuse: a node-wide rate of password checks', () => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_LOGIN_HASHES_PER_SECOND: String(RATE) } });
  });
  afterAll(() => gateway.close());

  const login = (username: string, password: string, ip: string) =>
    gateway.http().post('/api/admin/auth/login').set('x-forwarded-for', ip).send({ username, password });

  it(`checks ${RATE} passwords a second from any addresses, then answers 429 with Retry-After until the second refills`, async () => {
    const gate = gateway.app.get(PasswordHashGate);
    for (let i = 0; i < RATE; i++) await login(`nobody-${i}`, 'wrong-password-123', `10.0.0.${i}`).expect(401);
    const run = jest.spyOn(gate, 'run');
    const refused = await login(TEST_ADMIN.username, TEST_ADMIN.password, '10.0.1.1').expect(429);
    expect(refused.body).toMatchObject({ code: 429, error: 'LOGIN_THROTTLED', details: { retryAfterMs: 334 } });
    expect(refused.headers['retry-after']).toBe('1');
    // Refused before the body was read: the login handler never ran.
    expect(run).not.toHaveBeenCalled();
    run.mockRestore();
    gateway.clock.advance(334);
    const token = await login(TEST_ADMIN.username, TEST_ADMIN.password, '10.0.1.1').expect(200);
    expect(token.body.data.accessToken).toEqual(expect.any(String));
  });
});

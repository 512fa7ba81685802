import { GatewayError } from './gateway-error';

describe('GatewayError', () => {
  it('captures no stack for a client fault, and a full one for a server fault', () => {
    const limit = Error.stackTraceLimit;
    const refusal = new GatewayError('THROTTLED', 'slow down');
    expect(refusal.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    const fault = new GatewayError('INTERNAL_ERROR', 'broken');
    expect(fault.stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('plain').stack).toMatch(/\n\s+at /);
  });

  it('keeps code, message, details, headers and cause', () => {
    const cause = new Error('inner');
    const error = new GatewayError('LEASE_LIMIT_REACHED', 'full', {
      details: { limit: 1 },
      headers: { 'Retry-After': '1' },
      cause,
    });
    expect(error).toMatchObject({
      name: 'GatewayError',
      code: 'LEASE_LIMIT_REACHED',
      message: 'full',
      details: { limit: 1 },
      headers: { 'Retry-After': '1' },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
  });
});

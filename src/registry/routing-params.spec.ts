import { checkInstanceJson } from './routing-params';

describe('checkInstanceJson', () => {
  const limits = { maxLeaseTtlMs: 900_000 };

  it('bounds timeoutMs by GATEWAY_MAX_LEASE_TTL_MS (it sets how long an unreported selection holds capacity)', () => {
    expect(checkInstanceJson({ routingParams: { timeoutMs: 900_000 } }, '', limits)).toEqual([]);
    expect(checkInstanceJson({ routingParams: { timeoutMs: 900_001 } }, 'instances.2', limits)).toEqual([
      {
        field: 'instances.2.routingParams.timeoutMs',
        message: 'routingParams.timeoutMs must be an integer between 1 and 900000',
      },
    ]);
    expect(checkInstanceJson({ routingParams: { timeoutMs: 3_600_000 } }, '', { maxLeaseTtlMs: 3_600_000 })).toEqual(
      [],
    );
  });

  it('reports the known keys in their order', () => {
    const errors = checkInstanceJson(
      { routingParams: { slowCallMs: 0, timeoutMs: 0, maxConcurrency: 0, priority: 5000 } },
      '',
      limits,
    );
    expect(errors.map((error) => error.field)).toEqual([
      'routingParams.priority',
      'routingParams.maxConcurrency',
      'routingParams.timeoutMs',
      'routingParams.slowCallMs',
    ]);
  });
});

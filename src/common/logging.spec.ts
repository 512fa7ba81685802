import { Logger } from '@nestjs/common';
import { CLIENT_ERROR_LINES_PER_SECOND, ClientErrorLines, isPoll, redactQuery } from './logging';

describe('redactQuery', () => {
  it('leaves a URL without a query, or without secrets, as it is', () => {
    expect(redactQuery('/api/instances')).toBe('/api/instances');
    expect(redactQuery('/api/instances?size=7&page=2&affinityType=user')).toBe(
      '/api/instances?size=7&page=2&affinityType=user',
    );
    expect(redactQuery(undefined)).toBeUndefined();
  });

  it.each([
    'apiKey',
    'apikey',
    'APIKEY',
    'api_key',
    'api-key',
    'API.Key',
    'api%4Bey',
    '%61piKey',
    'api%4bey%00',
    'key',
    'Key',
    'token',
    'access_token',
    'access%5Ftoken',
    'refresh-token',
    'password',
    'Pass%77ord',
    'client_secret',
    'authorization',
    'api+key',
    'api%4Bey%',
  ])('redacts the value of %s, whatever its spelling or encoding', (name) => {
    expect(redactQuery(`/api/x?size=1&${name}=s3cr3t-value&page=2`)).toBe(`/api/x?size=1&${name}=[REDACTED]&page=2`);
  });

  it('redacts a value shaped like an issued key whatever the parameter is called', () => {
    const key = `gw_${'A1b2C3d4E5'.repeat(4)}`;
    expect(redactQuery(`/api/x?q=${key}`)).toBe('/api/x?q=[REDACTED]');
    expect(redactQuery(`/api/x?q=gw%5F${key.slice(3)}`)).toBe('/api/x?q=[REDACTED]');
  });

  it('redacts every occurrence, and a secret name without a value', () => {
    expect(redactQuery('/x?apiKey=a&apiKey=b&token')).toBe('/x?apiKey=[REDACTED]&apiKey=[REDACTED]&[REDACTED]');
  });
});

describe('ClientErrorLines (4xx request lines per second)', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => (warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined)));
  afterEach(() => warn.mockRestore());

  it('admits 50 lines a second, counts the rest, and says how many went unlogged with the next second', () => {
    const lines = new ClientErrorLines();
    const start = Date.UTC(2026, 11, 6, 10, 0, 0);
    const admitted = Array.from({ length: 120 }, (_, i) => lines.admit(start + i)).filter(Boolean).length;
    expect(admitted).toBe(CLIENT_ERROR_LINES_PER_SECOND);
    expect(warn).not.toHaveBeenCalled();
    expect(lines.admit(start + 1000)).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toEqual({ suppressed: 70, since: new Date(start + 50).toISOString() });
    expect(warn.mock.calls[0][1]).toMatch(/^70 request lines with a 4xx status were not logged/);
  });

  it('writes no summary for a second that stayed under the cap', () => {
    const lines = new ClientErrorLines();
    for (let i = 0; i < 10; i++) expect(lines.admit(i * 10)).toBe(true);
    expect(lines.admit(5000)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('isPoll (dashboard polls are logged at debug)', () => {
  it.each([
    '/api/admin/monitoring/overview?timeRange=1h',
    '/api/admin/monitoring/instances',
    '/api/admin/monitoring/fleet?timeWindow=10m',
    '/api/monitoring/overview',
    '/api/admin/observation/overview',
    '/api/admin/breaker-events?projectId=x',
    '/api/admin/webhooks',
    `/api/instances/${'a'.repeat(32)}/health`,
    `/api/admin/instances/${'a'.repeat(32)}/health`,
  ])('a successful GET of %s', (url) => {
    expect(isPoll('GET', url, 200)).toBe(true);
  });

  it.each([
    ['POST', '/api/admin/webhooks', 200],
    ['GET', '/api/admin/monitoring/overview', 400],
    ['GET', '/api/admin/monitoring/overview', 500],
    ['GET', '/api/admin/projects', 200],
    ['GET', '/api/admin/monitoringx', 200],
    ['GET', `/api/admin/instances/${'a'.repeat(32)}`, 200],
    ['POST', `/api/admin/instances/${'a'.repeat(32)}/circuit`, 200],
  ])('not %s %s answered %s', (method, url, status) => {
    expect(isPoll(method, url, status)).toBe(false);
  });
});

import { redactQuery } from './logging';

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

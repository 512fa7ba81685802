import { GatewayError } from '../common/gateway-error';
import { extractApiKey, queryApiKey, requireApiKey, usableApiKey } from './api-key-extraction';

describe('API key extraction', () => {
  const request = (url: string, headers: Record<string, string> = {}) => ({ url, headers });

  it('reads the header first, then the query parameter apiKey, then a non-JWT bearer token', () => {
    expect(extractApiKey(request('/x?apiKey=from-query', { 'api-key': 'from-header' }))).toBe('from-header');
    expect(extractApiKey(request('/x?apiKey=from-query', { authorization: 'Bearer from-bearer' }))).toBe('from-query');
    expect(extractApiKey(request('/x', { authorization: 'Bearer from-bearer' }))).toBe('from-bearer');
    expect(extractApiKey(request('/x', { authorization: 'Bearer aaa.bbb.ccc' }))).toBeUndefined();
  });

  it('takes only the parameter spelled exactly apiKey, never an encoded spelling of it', () => {
    for (const name of ['api%4Bey', '%61piKey', 'apikey', 'APIKEY', 'api_key', 'xapiKey', 'apiKey%00']) {
      expect([name, queryApiKey(`/x?${name}=secret`)]).toEqual([name, undefined]);
    }
  });

  it('decodes the value, and takes the first of several', () => {
    expect(queryApiKey('/x?size=1&apiKey=gw_a%2Bb&apiKey=second')).toBe('gw_a+b');
    expect(queryApiKey('/x?apiKey=a+b')).toBe('a b');
  });

  it('ignores a malformed value and a URL without a query', () => {
    expect(queryApiKey('/x?apiKey=%E0%A4%A')).toBeUndefined();
    expect(queryApiKey('/x/apiKey=secret')).toBeUndefined();
  });

  it('takes a key of up to 256 characters as usable; a longer one is neither usable nor accepted', () => {
    const longest = 'k'.repeat(256);
    expect(usableApiKey(request('/x', { 'api-key': longest }))).toBe(longest);
    expect(requireApiKey(request('/x', { 'api-key': longest }))).toBe(longest);

    const tooLong = request('/x', { 'api-key': `${longest}k` });
    expect(extractApiKey(tooLong)).toBe(`${longest}k`);
    expect(usableApiKey(tooLong)).toBeUndefined();
    expect(() => requireApiKey(tooLong)).toThrow(GatewayError);
    expect(usableApiKey(request('/x'))).toBeUndefined();
  });
});

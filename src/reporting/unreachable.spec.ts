import { isUnreachable } from './unreachable';

describe('isUnreachable: the call never reached the backend', () => {
  it.each([
    ['Node', 'fetch failed: connect ECONNREFUSED 10.0.0.7:443'],
    ['Node DNS', 'getaddrinfo ENOTFOUND api.example.internal'],
    ['Java', 'java.net.ConnectException: Connection refused (Connection refused)'],
    ['Java DNS', 'java.net.UnknownHostException: api.example.internal'],
    [
      'Python',
      "HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))",
    ],
    ['Go', 'dial tcp 10.0.0.7:443: connect: connection refused'],
    ['.NET', 'No connection could be made because the target machine actively refused it. (10.0.0.7:443)'],
  ])('%s: %s', (_client, errorMessage) => {
    expect(isUnreachable({ outcome: 'SERVER_ERROR', errorMessage })).toBe(true);
    expect(isUnreachable({ outcome: 'UNKNOWN', errorMessage })).toBe(true);
  });

  it('not when the backend answered, reset the connection, timed out, or the outcome is no failure', () => {
    expect(
      isUnreachable({
        outcome: 'SERVER_ERROR',
        statusCode: 502,
        errorMessage: 'upstream connect error: connection refused',
      }),
    ).toBe(false);
    expect(isUnreachable({ outcome: 'SERVER_ERROR', errorMessage: 'socket hang up (ECONNRESET)' })).toBe(false);
    expect(isUnreachable({ outcome: 'TIMEOUT', errorMessage: 'upstream timed out' })).toBe(false);
    expect(isUnreachable({ outcome: 'SERVER_ERROR' })).toBe(false);
    expect(isUnreachable({ outcome: 'CLIENT_ERROR', errorMessage: 'connect ECONNREFUSED' })).toBe(false);
    expect(isUnreachable({ outcome: 'RATE_LIMITED', errorMessage: 'connect ECONNREFUSED' })).toBe(false);
  });

  it('reads errorType too (an exception class name)', () => {
    expect(isUnreachable({ outcome: 'UNKNOWN', errorType: 'java.net.ConnectException' })).toBe(true);
  });
});

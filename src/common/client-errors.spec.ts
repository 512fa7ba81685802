import type { Socket } from 'node:net';
import { answerClientError } from './client-errors';

/** A socket that records what is written to it. */
function fakeSocket(state: { writable?: boolean; destroyed?: boolean } = {}) {
  const written: string[] = [];
  let destroyedWith: unknown;
  const socket = {
    writable: state.writable ?? true,
    destroyed: state.destroyed ?? false,
    write: (text: string) => written.push(text),
    destroy: (error: unknown) => (destroyedWith = error),
  } as unknown as Socket;
  return { socket, written, destroyed: () => destroyedWith };
}

const parse = (answer: string) => {
  const [head, body] = answer.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0], head, body: JSON.parse(body) as Record<string, unknown> };
};

describe('answerClientError', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 431, 'HEADERS_TOO_LARGE'],
    ['HPE_INVALID_CONTENT_LENGTH', 'HTTP/1.1 400 Bad Request', 400, 'BAD_REQUEST'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 408, 'REQUEST_TIMEOUT'],
    ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request', 400, 'BAD_REQUEST'],
  ])('%s: %s with the error envelope, then closes', (code, statusLine, status, error) => {
    const { socket, written, destroyed } = fakeSocket();
    const cause = Object.assign(new Error('parse error'), { code });
    answerClientError(cause, socket, () => 1234);
    const answer = parse(written[0]);
    expect(answer.statusLine).toBe(statusLine);
    expect(answer.head).toMatch(/Content-Type: application\/json; charset=utf-8/);
    expect(answer.head).toMatch(/Connection: close/);
    expect(answer.head).toMatch(/x-content-type-options: nosniff/);
    expect(answer.body).toEqual({
      code: status,
      error,
      message: expect.any(String),
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
      timestamp: 1234,
    });
    expect(answer.head).toContain(`Content-Length: ${Buffer.byteLength(JSON.stringify(answer.body))}`);
    expect(destroyed()).toBe(cause);
  });

  it('writes nothing to a reset or unwritable connection', () => {
    const reset = fakeSocket();
    answerClientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), reset.socket);
    expect(reset.written).toEqual([]);
    const closed = fakeSocket({ writable: false });
    answerClientError(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }), closed.socket);
    expect(closed.written).toEqual([]);
  });
});

import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { ErrorEnvelope } from './envelope';
import { type ErrorCode, statusOf } from './error-codes';
import { newRandomId } from './ids';
import { securityHeadersFor } from './security-headers';

/** What Node's HTTP parser reported, as the envelope's code and message. */
function describeClientError(error: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'HEADERS_TOO_LARGE', message: 'The request headers are larger than the server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { code: 'BAD_REQUEST', message: 'Invalid Content-Length header' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { code: 'BAD_REQUEST', message: 'Invalid Transfer-Encoding header' };
    case undefined:
    default:
      return { code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
  }
}

/**
 * The server's `clientError` handler (Fastify's `clientErrorHandler`): requests Node's HTTP parser
 * refuses (headers too large → 431, a bad Content-Length → 400, a timeout → 408) never reach
 * Fastify or Nest, so the error envelope is written to the socket here, then the connection is
 * closed. Nothing is logged: these are the client's mistakes, and the bytes are untrusted.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket, now: () => number = Date.now): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { code, message } = describeClientError(error);
  const status = statusOf(code);
  const body: ErrorEnvelope = { code: status, message, error: code, requestId: newRandomId(), timestamp: now() };
  const json = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    ...securityHeadersFor('application/json'),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    'x-request-id': body.requestId,
    Connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n\r\n${json}`);
  socket.destroy(error);
}

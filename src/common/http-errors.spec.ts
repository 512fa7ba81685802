import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { GatewayError } from './gateway-error';
import { describeError } from './http-errors';

describe('describeError', () => {
  it('maps a GatewayError by its code, keeping details and headers', () => {
    const described = describeError(
      new GatewayError('THROTTLED', 'slow down', { details: { retryAfterMs: 1200 }, headers: { 'Retry-After': '2' } }),
    );
    expect(described).toEqual({
      status: 429,
      code: 'THROTTLED',
      message: 'slow down',
      details: { retryAfterMs: 1200 },
      headers: { 'Retry-After': '2' },
      unexpected: false,
    });
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(describeError(new BadRequestException('bad')).code).toBe('BAD_REQUEST');
    expect(describeError(new PayloadTooLargeException()).code).toBe('PAYLOAD_TOO_LARGE');
    expect(describeError(new HttpException('x', 415)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('hides the message of a 5xx HttpException and flags it unexpected', () => {
    const described = describeError(new HttpException('db password is hunter2', 502));
    expect(described).toMatchObject({ status: 502, code: 'INTERNAL_ERROR', unexpected: true });
    expect(described.message).not.toContain('hunter2');
  });

  it('maps Fastify errors by their code', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(describeError(tooLarge)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it("maps the router's own errors and any other 4xx library error to a stable code of ours", () => {
    const badUrl = Object.assign(new Error("'/%E0' is not a valid url component"), { code: 'FST_ERR_BAD_URL' });
    expect(describeError(badUrl)).toMatchObject({ status: 400, code: 'INVALID_URL', unexpected: false });
    const long = Object.assign(new Error('too long'), { code: 'FST_ERR_MAX_PARAM_LENGTH' });
    expect(describeError(long)).toMatchObject({ status: 414, code: 'URI_TOO_LONG' });
    const unknown = Object.assign(new Error('x'), { code: 'FST_ERR_SOMETHING_NEW', statusCode: 431 });
    expect(describeError(unknown)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    const other = Object.assign(new Error('x'), { code: 'FST_ERR_OTHER', statusCode: 422 });
    expect(describeError(other)).toMatchObject({ status: 422, code: 'BAD_REQUEST' });
  });

  it('turns anything else into a generic 500', () => {
    expect(describeError(new TypeError('x is undefined'))).toEqual({
      status: 500,
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
      unexpected: true,
    });
    expect(describeError('a string').status).toBe(500);
  });
});

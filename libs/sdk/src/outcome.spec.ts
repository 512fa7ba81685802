import { classifyError, classifyResponse, classifyStatus, retryAfterMs } from './outcome';
import { closedPort, listen, type LocalServer } from './testing/servers';

describe('classifyStatus', () => {
  it.each([
    [200, 'SUCCESS'],
    [304, 'SUCCESS'],
    [400, 'CLIENT_ERROR'],
    [401, 'AUTH_ERROR'],
    [403, 'AUTH_ERROR'],
    [404, 'CLIENT_ERROR'],
    [408, 'TIMEOUT'],
    [429, 'RATE_LIMITED'],
    [500, 'SERVER_ERROR'],
    [503, 'SERVER_ERROR'],
    [504, 'TIMEOUT'],
    [529, 'RATE_LIMITED'],
  ])('%i is %s', (status, outcome) => expect(classifyStatus(status)).toBe(outcome));
});

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads seconds, fractions of them, and an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 12:00:07 GMT' }), now)).toBe(7000);
  });

  it('prefers retry-after-ms (OpenAI, Azure) and reads plain records too', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2', 'retry-after-ms': '250' }), now)).toBe(250);
    expect(retryAfterMs({ 'Retry-After': '3' }, now)).toBe(3000);
  });

  it('is undefined when absent or unreadable, never negative', () => {
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 11:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('classifyResponse against a real HTTP backend', () => {
  let backend: LocalServer;

  beforeAll(async () => {
    backend = await listen((request, res) => {
      if (request.url === '/busy') {
        res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'rate_limit_error', message: 'slow down' } }));
      } else if (request.url === '/arrears') {
        // Zhipu's arrears, sent as 429 (docs.bigmodel.cn/cn/api/api-code, code 1113).
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: '1113', message: '您的账户已欠费，请充值后重试。' } }));
      } else if (request.url === '/big') {
        res.writeHead(500);
        res.end('x'.repeat(100_000));
      } else if (request.url === '/empty') {
        res.writeHead(503);
        res.end();
      } else {
        res.writeHead(200);
        res.end('fine');
      }
    });
  });
  afterAll(() => backend.close());

  it('keeps the status, Retry-After and provider body, and leaves the body readable', async () => {
    const res = await fetch(`${backend.url}/busy`);
    const outcome = await classifyResponse(res, 1000);
    expect(outcome).toEqual({
      outcome: 'RATE_LIMITED',
      statusCode: 429,
      retryAfterMs: 3000,
      errorMessage: '{"error":{"type":"rate_limit_error","message":"slow down"}}',
    });
    expect(await res.json()).toEqual({ error: { type: 'rate_limit_error', message: 'slow down' } });
  });

  it('reads the body as the gateway does: arrears sent as 429 are AUTH_ERROR, not a rate limit', async () => {
    const outcome = await classifyResponse(await fetch(`${backend.url}/arrears`), 1000);
    expect(outcome).toMatchObject({ outcome: 'AUTH_ERROR', statusCode: 429 });
    expect(classifyStatus(402)).toBe('AUTH_ERROR');
  });

  it('reads a long body only as far as the gateway keeps it', async () => {
    const outcome = await classifyResponse(await fetch(`${backend.url}/big`), 1000);
    expect(outcome.errorMessage).toHaveLength(2048);
  });

  it('says the status when the body is empty', async () => {
    const outcome = await classifyResponse(await fetch(`${backend.url}/empty`), 1000);
    expect(outcome).toEqual({ outcome: 'SERVER_ERROR', statusCode: 503, errorMessage: 'HTTP 503 Service Unavailable' });
  });

  it('reports an opaque answer (status 0) as UNKNOWN, without a status code', async () => {
    const opaque = Response.error();
    expect(opaque.status).toBe(0);
    expect(await classifyResponse(opaque, 1000)).toEqual({
      outcome: 'UNKNOWN',
      errorMessage: "opaque response (type error, status 0): the runtime hides the backend's answer",
    });
    expect(classifyStatus(0)).toBe('UNKNOWN');
  });

  it('reads nothing of a success', async () => {
    const res = await fetch(`${backend.url}/ok`);
    expect(await classifyResponse(res, 1000)).toEqual({ outcome: 'SUCCESS', statusCode: 200 });
    expect(await res.text()).toBe('fine');
  });
});

describe('classifyError', () => {
  const idle = { callerAborted: false };

  it("keeps a refused connection's code in the message, for the gateway to classify", async () => {
    const error = await fetch(`http://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e);
    const outcome = classifyError(error, idle);
    expect(outcome.outcome).toBe('SERVER_ERROR');
    expect(outcome.errorMessage).toMatch(/fetch failed/);
    expect(outcome.errorMessage).toMatch(/ECONNREFUSED/);
    expect(outcome.errorType).toBeUndefined();
  });

  it('reads the status and headers of SDK errors (OpenAI, Anthropic, axios)', () => {
    const openai = Object.assign(new Error('429 Rate limit reached'), {
      name: 'RateLimitError',
      status: 429,
      headers: { 'retry-after-ms': '1200' },
    });
    expect(classifyError(openai, idle)).toEqual({
      outcome: 'RATE_LIMITED',
      statusCode: 429,
      retryAfterMs: 1200,
      errorMessage: '429 Rate limit reached',
      errorType: 'RateLimitError',
    });
    const anthropic = Object.assign(new Error('529 {"type":"error"}'), { status: 529, headers: new Headers() });
    expect(classifyError(anthropic, idle).outcome).toBe('RATE_LIMITED');
    const axios = Object.assign(new Error('Request failed with status code 502'), {
      response: { status: 502, headers: {} },
    });
    expect(classifyError(axios, idle)).toMatchObject({ outcome: 'SERVER_ERROR', statusCode: 502 });
  });

  it('knows timeouts and the caller’s own abort', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(classifyError(abort, { callerAborted: false, timedOutAfterMs: 250 })).toEqual({
      outcome: 'TIMEOUT',
      errorType: 'TIMEOUT',
      errorMessage: 'timed out after 250 ms: This operation was aborted',
    });
    expect(classifyError(abort, { callerAborted: true, timedOutAfterMs: 250 })).toMatchObject({
      outcome: 'CLIENT_ERROR',
      errorType: 'CANCELLED',
    });
    const headers = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(classifyError(new TypeError('fetch failed', { cause: headers }), idle).outcome).toBe('TIMEOUT');
    expect(
      classifyError(Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' }), idle)
        .outcome,
    ).toBe('TIMEOUT');
  });

  it('adds the code an AggregateError hides (both addresses of localhost refused)', () => {
    const aggregate = Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:9')], ''), {
      code: 'ECONNREFUSED',
    });
    const outcome = classifyError(new TypeError('fetch failed', { cause: aggregate }), idle);
    expect(outcome.outcome).toBe('SERVER_ERROR');
    expect(outcome.errorMessage).toContain('ECONNREFUSED');
  });

  it('classifies an error without a status by its message, as the gateway does', () => {
    expect(classifyError(new Error('400 Bad Request: maximum context length is 8192 tokens'), idle)).toEqual({
      outcome: 'CLIENT_ERROR',
      errorMessage: '400 Bad Request: maximum context length is 8192 tokens',
    });
    expect(classifyError(new Error('Rate limit reached for gpt-4o'), idle).outcome).toBe('RATE_LIMITED');
    expect(classifyError(new Error('The response was filtered due to content policy'), idle).outcome).toBe(
      'CLIENT_ERROR',
    );
    // A browser's fetch that failed says nothing certain (CORS, offline, DNS): the gateway says UNKNOWN.
    expect(classifyError(new TypeError('Failed to fetch'), idle).outcome).toBe('UNKNOWN');
    expect(classifyError(new TypeError('Load failed'), idle).outcome).toBe('UNKNOWN');
  });

  it('never takes a 1xx–3xx status on an error for a success', () => {
    const redirected = Object.assign(new Error('Request failed with status code 302'), { status: 302 });
    expect(classifyError(redirected, idle)).toEqual({
      outcome: 'UNKNOWN',
      statusCode: 302,
      errorMessage: 'Request failed with status code 302',
    });
    const moved = Object.assign(new Error('moved'), { response: { status: 301, headers: {} } });
    expect(classifyError(moved, idle).outcome).not.toBe('SUCCESS');
  });

  it('leaves anything else UNKNOWN, labelled with its class', () => {
    expect(classifyError(new SyntaxError('Unexpected token < in JSON'), idle)).toEqual({
      outcome: 'UNKNOWN',
      errorType: 'SyntaxError',
      errorMessage: 'Unexpected token < in JSON',
    });
    expect(classifyError('boom', idle)).toEqual({ outcome: 'UNKNOWN', errorMessage: 'boom' });
  });
});

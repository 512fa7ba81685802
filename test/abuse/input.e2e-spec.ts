import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../src/auth/auth.decorators';
import { adminToken, createProject, type TestProject } from '../utils/fixtures';
import { createTestApp, type TestApp } from '../utils/test-app';
import { LogCapture } from '../utils/log-capture';

/** Issue #15, finding 11: hostile input never becomes a 5xx or a bare Fastify answer. */

/** Echoes the client address Fastify resolved (trust proxy). */
@Controller('abuse-test')
class ClientIpController {
  @Public()
  @Get('ip')
  ip(@Req() request: FastifyRequest): { ip: string } {
    return { ip: request.ip };
  }
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends bytes as they are (no client library to fix them up) and reads the whole answer. */
function rawRequest(port: number, text: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const answer = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = answer.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.end(text);
  });
}

/** The error envelope every answer must be: HTTP status = `code`, a stable `error`. */
function expectEnvelope(status: number, body: unknown, error: string): void {
  expect(body).toMatchObject({ code: status, error, message: expect.any(String), requestId: expect.any(String) });
  expect(typeof (body as { timestamp: unknown }).timestamp).toBe('number');
}

/** One sink for every app of this file: the logger keeps the destination it was first given. */
const capture = new LogCapture();

describe('abuse: hostile input (issue #15, finding 11)', () => {
  let gateway: TestApp;
  let project: TestProject;
  let port: number;

  beforeAll(async () => {
    gateway = await createTestApp({
      env: { LOG_LEVEL: 'debug' },
      logDestination: capture,
      extra: { controllers: [ClientIpController] },
    });
    project = await createProject(gateway, 'Hostile input');
    await new Promise<void>((resolve) => gateway.app.getHttpServer().listen(0, '127.0.0.1', resolve));
    port = (gateway.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => gateway.close());

  const withKey = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string) =>
    gateway.http()[method](path).set('api-key', project.apiKey).set('content-type', 'application/json');

  describe('(a) a huge page', () => {
    it.each(['1e21', '9007199254740993', '100000000'])('page=%s is 400 on page, not a 500', async (page) => {
      const res = await withKey('get', `/api/instances?page=${page}&size=200`);
      expect(res.status).toBe(400);
      expectEnvelope(400, res.body, 'VALIDATION_FAILED');
      expect(res.body.details).toEqual([{ field: 'page', message: expect.stringContaining('page') }]);
    });

    it('on the admin listing too', async () => {
      const token = await adminToken(gateway);
      const res = await gateway.http().get('/api/admin/instances?page=1e21').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('page');
    });

    it('the deepest page allowed (an offset of 1,000,000 rows) answers', async () => {
      const res = await withKey('get', '/api/instances?page=5001&size=200').expect(200);
      expect(res.body.data).toMatchObject({ items: [], page: 5001, size: 200 });
      await withKey('get', '/api/instances?page=5002&size=200').expect(400);
    });
  });

  describe('(b) JSON nested thousands deep', () => {
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

    it.each([
      [
        'POST /api/instances (metadata)',
        'post',
        '/api/instances',
        (d: string) => `{"apiIdentifier":"x","apiType":"MODEL","businessId":"deep","metadata":${d}}`,
      ],
      [
        'POST /api/instances/batch',
        'post',
        '/api/instances/batch',
        (d: string) =>
          `{"instances":[{"apiIdentifier":"x","apiType":"MODEL","businessId":"deep","routingParams":${d}}]}`,
      ],
      [
        'PUT /api/instances/{apiType}/{businessId}',
        'put',
        '/api/instances/MODEL/deep',
        (d: string) => `{"apiIdentifier":"x","metadata":${d}}`,
      ],
      [
        'PATCH /api/projects/current/settings',
        'patch',
        '/api/projects/current/settings',
        (d: string) => `{"breaker":${d}}`,
      ],
      [
        'POST /api/gateway/select-instance',
        'post',
        '/api/gateway/select-instance',
        (d: string) => `{"apiIdentifier":"x","apiType":"MODEL","tags":${d}}`,
      ],
    ] as const)('%s: 2000 and 9000 levels are refused with 400 BODY_TOO_DEEP', async (_name, method, path, body) => {
      for (const nested of [deepObject(2000), deepArray(9000)]) {
        const res = await withKey(method, path).send(body(nested));
        expect(res.status).toBe(400);
        expectEnvelope(400, res.body, 'BODY_TOO_DEEP');
        expect(res.body.details).toEqual({ maxDepth: 32 });
      }
    });

    it('the limit counts nesting only: 32 levels pass, brackets inside strings never count', async () => {
      // 32 levels: the body object, metadata, then 30 more.
      const ok = await withKey('post', '/api/gateway/select-instance').send(
        `{"apiIdentifier":"x","apiType":"MODEL","tags":${deepArray(31)}}`,
      );
      expect(ok.body.error).not.toBe('BODY_TOO_DEEP');
      const tooDeep = await withKey('post', '/api/gateway/select-instance').send(
        `{"apiIdentifier":"x","apiType":"MODEL","tags":${deepArray(32)}}`,
      );
      expect(tooDeep.body.error).toBe('BODY_TOO_DEEP');
      const brackets = '[{'.repeat(1000);
      const res = await withKey('post', '/api/instances')
        .send(
          JSON.stringify({
            apiIdentifier: 'strings',
            apiType: 'MODEL',
            businessId: 'brackets-in-strings',
            metadata: { a: brackets, b: `\\"${brackets}`, c: '\\', d: `"${brackets}` },
          }),
        )
        .expect(200);
      expect(res.body.data.metadata.d).toBe(`"${brackets}`);
    });

    it('malformed JSON is still INVALID_JSON', async () => {
      const res = await withKey('post', '/api/instances').send('{"apiIdentifier": [}');
      expect(res.status).toBe(400);
      expectEnvelope(400, res.body, 'INVALID_JSON');
    });
  });

  describe('(f) what the fuzz harness found (issue #16): a 400 naming the field, never a 500', () => {
    it('a key named "constructor" anywhere in a body', async () => {
      const item = { apiIdentifier: 'c', apiType: 'MODEL', businessId: 'c-1' };
      const single = await withKey('post', '/api/instances').send({ ...item, metadata: { a: { constructor: 1 } } });
      expectEnvelope(400, single.body, 'VALIDATION_FAILED');
      expect(single.body.details).toEqual([{ field: 'metadata.a.constructor', message: expect.any(String) }]);
      const batch = await withKey('post', '/api/instances/batch').send({
        instances: [item, { ...item, businessId: 'c-2', routingParams: { constructor: [] } }],
      });
      expectEnvelope(400, batch.body, 'VALIDATION_FAILED');
      expect(batch.body.details).toEqual([
        { field: 'instances.1.routingParams.constructor', message: expect.any(String) },
      ]);
      const listed = await withKey('get', '/api/instances?size=200').expect(200);
      const items = listed.body.data.items as { apiIdentifier: string }[];
      expect(items.filter((one) => one.apiIdentifier === 'c')).toEqual([]);
    });

    it('null for an admin update field that may be left out but not cleared', async () => {
      const token = await adminToken(gateway);
      const admin = (method: 'put', path: string) =>
        gateway.http()[method](path).set('authorization', `Bearer ${token}`);
      const nameless = await admin('put', `/api/admin/projects/${project.id}`).send({ name: null });
      expectEnvelope(400, nameless.body, 'VALIDATION_FAILED');
      expect(nameless.body.details[0].field).toBe('name');
      const users = await admin('put', '/api/admin/users/00000000000000000000000000000000').send({ role: null });
      expectEnvelope(400, users.body, 'VALIDATION_FAILED');
      const password = await admin('put', '/api/admin/users/00000000000000000000000000000000').send({ password: null });
      expectEnvelope(400, password.body, 'VALIDATION_FAILED');
      expect(password.body.details[0].field).toBe('password');
    });
  });

  describe("(e) Fastify's own errors, in the envelope", () => {
    it('a malformed URL escape is 400 INVALID_URL', async () => {
      const res = await rawRequest(
        port,
        `GET /api/instances/%E0%A4%A HTTP/1.1\r\nHost: x\r\napi-key: ${project.apiKey}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status).toBe(400);
      expectEnvelope(400, JSON.parse(res.body), 'INVALID_URL');
    });

    it('a 128-character businessId (3-byte characters, URL-encoded) reaches the path routes', async () => {
      const businessId = '€'.repeat(128);
      await withKey('post', '/api/instances').send({ apiIdentifier: 'euro', apiType: 'MODEL', businessId }).expect(200);
      const path = `/api/instances/MODEL/${encodeURIComponent(businessId)}`;
      const updated = await withKey('put', path).send({ apiIdentifier: 'euro-2' }).expect(200);
      expect(updated.body.data.businessId).toBe(businessId);
      await withKey('post', `${path}/deactivate`).expect(200);
      expect((await withKey('delete', path).expect(200)).body.data).toBe(1);
    });

    it('a path segment beyond 512 characters is 414 URI_TOO_LONG', async () => {
      const res = await withKey('delete', `/api/instances/MODEL/${'b'.repeat(513)}`);
      expect(res.status).toBe(414);
      expectEnvelope(414, res.body, 'URI_TOO_LONG');
    });

    it('an invalid Content-Length is 400 in the envelope', async () => {
      for (const header of ['Content-Length: abc', 'Content-Length: 5\r\nContent-Length: 6']) {
        const res = await rawRequest(
          port,
          `POST /api/instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${header}\r\n\r\n{}`,
        );
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toContain('application/json');
        expectEnvelope(400, JSON.parse(res.body), 'BAD_REQUEST');
      }
    });

    it('huge headers are 431 HEADERS_TOO_LARGE in the envelope', async () => {
      const res = await rawRequest(
        port,
        `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(32 * 1024)}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status).toBe(431);
      expect(res.headers['content-type']).toContain('application/json');
      expectEnvelope(431, JSON.parse(res.body), 'HEADERS_TOO_LARGE');
    });

    it('an unsupported media type stays 415 in the envelope', async () => {
      const res = await gateway
        .http()
        .post('/api/instances')
        .set('api-key', project.apiKey)
        .set('content-type', 'application/xml')
        .send('<x/>');
      expect(res.status).toBe(415);
      expectEnvelope(415, res.body, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('(f) trust proxy', () => {
    it('without GATEWAY_TRUST_PROXY, X-Forwarded-For is ignored', async () => {
      const res = await gateway.http().get('/api/abuse-test/ip').set('x-forwarded-for', '203.0.113.7').expect(200);
      expect(res.body.ip).not.toBe('203.0.113.7');
    });

    it('with GATEWAY_TRUST_PROXY=true, request.ip is the forwarded client', async () => {
      const proxied = await createTestApp({
        env: { GATEWAY_TRUST_PROXY: 'true' },
        extra: { controllers: [ClientIpController] },
      });
      try {
        const res = await proxied.http().get('/api/abuse-test/ip').set('x-forwarded-for', '203.0.113.7').expect(200);
        expect(res.body.ip).toBe('203.0.113.7');
      } finally {
        await proxied.close();
      }
    });

    it('with a hop count, request.ip is the address that many proxies in (Fastify ≥ 5.12 takes no bare number)', async () => {
      const forwarded = '203.0.113.9, 198.51.100.2';
      for (const [hops, ip] of [
        ['1', '198.51.100.2'],
        ['2', '203.0.113.9'],
      ]) {
        const proxied = await createTestApp({
          env: { GATEWAY_TRUST_PROXY: hops },
          extra: { controllers: [ClientIpController] },
        });
        try {
          const res = await proxied.http().get('/api/abuse-test/ip').set('x-forwarded-for', forwarded).expect(200);
          expect(res.body.ip).toBe(ip);
        } finally {
          await proxied.close();
        }
      }
    });
  });

  it('logged none of the above with a stack trace or at error level', () => {
    expect(capture.text).toContain('request completed');
    const lines = capture.lines();
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(capture.text).not.toMatch(/"stack"|\bat [\w.<>]+ \(/);
  });
});

import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Min } from 'class-validator';
import { Public } from '../src/auth/auth.decorators';
import { Enveloped } from '../src/common/envelope.interceptor';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase } from './utils/test-database';

class EchoDto {
  @IsString()
  name!: string;

  @IsInt()
  @Min(0)
  count!: number;
}

/** Routes that exist only in this suite, to exercise the envelope and the error mapping. */
@Public()
@Enveloped()
@Controller('test-only')
class ProbeController {
  @Post('echo')
  echo(@Body() body: EchoDto): EchoDto {
    return body;
  }

  @Post('empty')
  empty(@Body() body: unknown): { received: unknown } {
    return { received: body ?? null };
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internal detail');
  }

  @Get('nothing')
  nothing(): void {
    return undefined;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describeEachDatabase('foundation', (database) => {
  let gateway: TestApp;

  beforeAll(async () => {
    gateway = await createTestApp({ database, extra: { imports: [ProbeModule] } });
  });
  afterAll(() => gateway.close());

  describe('health', () => {
    it('answers the reference shape inside the success envelope', async () => {
      const res = await gateway.http().get('/api/health').expect(200);
      expect(res.body).toEqual({
        code: 200,
        message: 'success',
        data: {
          status: 'UP',
          service: 'API Premium Gateway',
          version: expect.any(String),
          timestamp: gateway.clock.now(),
          node: expect.stringMatching(/./),
          cluster: {
            mode: 'single',
            status: 'CONNECTED',
            since: expect.any(Number),
            nodes: [expect.any(String)],
            resyncs: 0,
          },
        },
        timestamp: gateway.clock.now(),
      });
    });

    it('is live and ready with the database up', async () => {
      await gateway.http().get('/api/health/live').expect(200);
      const res = await gateway.http().get('/api/health/ready').expect(200);
      expect(res.body.data).toEqual({ status: 'ok', info: { database: { status: 'up' } } });
    });
  });

  describe('envelope and request id', () => {
    it('omits data when a handler returns nothing', async () => {
      const res = await gateway.http().get('/api/test-only/nothing').expect(200);
      expect(res.body).toEqual({ code: 200, message: 'success', timestamp: gateway.clock.now() });
      expect(res.body).not.toHaveProperty('data');
    });

    it('echoes a sane x-request-id and generates 32 hex characters otherwise', async () => {
      const given = await gateway.http().get('/api/health').set('x-request-id', 'trace-abc.123').expect(200);
      expect(given.headers['x-request-id']).toBe('trace-abc.123');
      const generated = await gateway.http().get('/api/health').set('x-request-id', 'bad id with spaces').expect(200);
      expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    it('sets the REST security headers on JSON answers, and no per-request rate-limit headers', async () => {
      const res = await gateway.http().get('/api/health').expect(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-frame-options']).toBeUndefined();
      expect(Object.keys(res.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
    });

    it("sets Helmet's full set on HTML pages", async () => {
      const res = await gateway.http().get('/api/docs').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    });
  });

  describe('framework errors map to the error envelope', () => {
    const expectEnvelope = (body: Record<string, unknown>, code: number, error: string): void => {
      expect(body).toMatchObject({ code, error, message: expect.any(String), requestId: expect.any(String) });
      expect(body.timestamp).toBe(gateway.clock.now());
    };

    it('unknown route → 404 ROUTE_NOT_FOUND', async () => {
      const res = await gateway.http().get('/api/does-not-exist').expect(404);
      expectEnvelope(res.body, 404, 'ROUTE_NOT_FOUND');
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    });

    it('wrong method → 405 METHOD_NOT_ALLOWED with Allow', async () => {
      const res = await gateway.http().delete('/api/health').expect(405);
      expectEnvelope(res.body, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe('GET');
    });

    it('malformed JSON → 400 INVALID_JSON', async () => {
      const res = await gateway
        .http()
        .post('/api/test-only/echo')
        .set('content-type', 'application/json')
        .send('{"name": "x",')
        .expect(400);
      expectEnvelope(res.body, 400, 'INVALID_JSON');
    });

    it('prototype poisoning → 400 INVALID_JSON', async () => {
      const res = await gateway
        .http()
        .post('/api/test-only/echo')
        .set('content-type', 'application/json')
        .send('{"name":"x","count":1,"__proto__":{"admin":true}}')
        .expect(400);
      expectEnvelope(res.body, 400, 'INVALID_JSON');
    });

    it('body over 64 KiB → 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await gateway
        .http()
        .post('/api/test-only/echo')
        .send({ name: 'x'.repeat(70 * 1024), count: 1 })
        .expect(413);
      expectEnvelope(res.body, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('unsupported media type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await gateway
        .http()
        .post('/api/test-only/echo')
        .set('content-type', 'application/xml')
        .send('<a/>')
        .expect(415);
      expectEnvelope(res.body, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('validation → 400 VALIDATION_FAILED with details naming each field', async () => {
      const res = await gateway.http().post('/api/test-only/echo').send({ count: -1, extra: true }).expect(400);
      expectEnvelope(res.body, 400, 'VALIDATION_FAILED');
      const fields = (res.body.details as { field: string }[]).map((d) => d.field).sort();
      expect(fields).toEqual(['count', 'extra', 'name']);
    });

    it('an unexpected error → 500 with a generic message, never the internal one', async () => {
      const res = await gateway.http().get('/api/test-only/boom').expect(500);
      expectEnvelope(res.body, 500, 'INTERNAL_ERROR');
      expect(JSON.stringify(res.body)).not.toContain('secret internal detail');
    });
  });

  it('accepts an empty body sent with Content-Type: application/json', async () => {
    const res = await gateway.http().post('/api/test-only/empty').set('content-type', 'application/json').expect(200);
    expect(res.body.data).toEqual({ received: null });
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await gateway.http().get('/api/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.paths['/api/health']).toBeDefined();
    const ui = await gateway.http().get('/api/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });
});

describe('CORS', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await createTestApp({ env: { GATEWAY_CORS_ORIGINS: 'https://ops.example.com' } });
  });
  afterAll(() => gateway.close());

  it('allows only the configured origins', async () => {
    const allowed = await gateway.http().get('/api/health').set('origin', 'https://ops.example.com').expect(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://ops.example.com');
    const other = await gateway.http().get('/api/health').set('origin', 'https://evil.example.com').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

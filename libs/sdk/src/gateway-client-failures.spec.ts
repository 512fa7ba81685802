import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/utils/eventually';
import { GatewayCallError, GatewaySelectError } from './errors';
import { GatewayClient } from './gateway-client';
import { type LocalServer, closedPort, fakeGateway, json, listen, ok, refusal, selected } from './testing/servers';
import type { CallContext, SelectedInstance } from './types';
import { usageFromResponse } from './usage';

/**
 * What a real gateway does not produce on demand — its own 429s, going away, coming back — against
 * a scripted gateway over HTTP; backends are real local servers too.
 */
describe('GatewayClient when the gateway or the backend pushes back', () => {
  const servers: LocalServer[] = [];
  const clients: GatewayClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close({ timeoutMs: 100 })));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function backend(handler: Parameters<typeof listen>[0]): Promise<LocalServer> {
    const server = await listen(handler);
    servers.push(server);
    return server;
  }

  /** A gateway that offers `instances` in order, minus the excluded ones. */
  async function offering(instances: SelectedInstance[], before?: (res: ServerResponse) => boolean) {
    const gateway = await fakeGateway({
      select: (body, res) => {
        if (before?.(res)) return;
        const excluded = new Set((body.excludeInstanceIds as string[] | undefined) ?? []);
        const next = instances.find((instance) => !excluded.has(instance.id));
        if (next) json(res, 200, ok({ ...next, selectionId: `sel-${Math.random().toString(16).slice(2)}` }));
        else json(res, 400, refusal(400, 'NO_HEALTHY_INSTANCE', { tried: [], triedCount: 1 }));
      },
    });
    servers.push(gateway);
    return gateway;
  }

  function client(baseUrl: string, extra: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}): GatewayClient {
    const gw = new GatewayClient({ baseUrl, apiKey: 'k', reports: { intervalMs: 10 }, ...extra });
    clients.push(gw);
    return gw;
  }

  const get = (instance: SelectedInstance, { signal }: CallContext) => fetch(`${instance.endpoint}/`, { signal });

  it("waits out a rate-limited backend's Retry-After when nothing else is left, then tries it again", async () => {
    let busy = true;
    const only = await backend((_request, res) => {
      if (busy) {
        busy = false;
        json(res, 429, { error: { type: 'rate_limit_error' } }, { 'retry-after': '0.3' });
      } else json(res, 200, { fine: true });
    });
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'only', endpoint: only.url })]);
    const started = Date.now();
    const res = await client(gateway.url).call('gpt-4o', get);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(gateway.selects.map((s) => s.excludeInstanceIds ?? [])).toEqual([[], ['a'.repeat(32)], []]);
    await eventually(
      () =>
        expect(gateway.reports.map((r) => [r.success, r.statusCode, r.retryAfterMs])).toEqual([
          [false, 429, 300],
          [true, 200, undefined],
        ]),
      {
        timeoutMs: 2000,
      },
    );
  });

  it('does not wait past the deadline', async () => {
    const only = await backend((_request, res) => json(res, 429, {}, { 'retry-after': '5' }));
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'only', endpoint: only.url })]);
    const started = Date.now();
    const error = (await client(gateway.url)
      .call('gpt-4o', get, { timeoutMs: 1000 })
      .catch((e: unknown) => e)) as GatewayCallError;
    expect(error).toBeInstanceOf(GatewayCallError);
    expect(error.attempts.map((a) => [a.outcome, a.retryAfterMs])).toEqual([['RATE_LIMITED', 5000]]);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("waits out the gateway's own 429 (details.retryAfterMs) and selects again", async () => {
    const only = await backend((_request, res) => json(res, 200, {}));
    let throttled = true;
    const gateway = await offering(
      [selected({ id: 'a'.repeat(32), businessId: 'only', endpoint: only.url })],
      (res) => {
        if (!throttled) return false;
        throttled = false;
        json(res, 429, refusal(429, 'QUOTA_EXHAUSTED', { tried: [], triedCount: 1, retryAfterMs: 200 }), {
          'retry-after': '1',
        });
        return true;
      },
    );
    const started = Date.now();
    expect((await client(gateway.url).call('gpt-4o', get)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(900); // details.retryAfterMs, not the rounded-up header
    expect(gateway.selects).toHaveLength(2);
  });

  it("ends an attempt at its limit even when fn ignores its signal, and stops on the caller's abort", async () => {
    const only = await backend((_request, res) => json(res, 200, {}));
    const gateway = await offering([
      selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: only.url }),
      selected({ id: 'b'.repeat(32), businessId: 'b', endpoint: only.url }),
    ]);
    const gw = client(gateway.url);
    const stubborn = (instance: SelectedInstance) =>
      instance.businessId === 'a' ? new Promise<Response>(() => undefined) : fetch(`${instance.endpoint}/`);
    expect((await gw.call('gpt-4o', stubborn, { attemptTimeoutMs: 100 })).status).toBe(200);

    const caller = new AbortController();
    const pending = gw.call('gpt-4o', (_instance, { signal }) => sleep(10_000, undefined, { signal }), {
      signal: caller.signal,
    });
    setTimeout(() => caller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await gw.flush();
    expect(gateway.reports.map((r) => [r.businessId, r.success, r.errorType ?? r.statusCode])).toEqual([
      ['a', false, 'TIMEOUT'],
      ['b', true, 200],
      ['a', false, 'CANCELLED'],
    ]);
  });

  it('meters an async iterable (an SDK stream) and reports when the loop ends', async () => {
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: 'http://unused' })]);
    const gw = client(gateway.url);
    async function* chunks(): AsyncGenerator<{ choices: unknown[]; usage: unknown }> {
      await sleep(30);
      yield { choices: [{ delta: { content: 'Hi' } }], usage: null };
      yield { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } };
    }
    const stream = await gw.call('gpt-4o', () => chunks());
    let text = '';
    for await (const chunk of stream) text += JSON.stringify(chunk);
    expect(text).toContain('Hi');
    await gw.flush();
    expect(gateway.reports).toHaveLength(1);
    expect(gateway.reports[0]).toMatchObject({
      success: true,
      usageMetrics: { promptTokens: 3, completionTokens: 1, totalTokens: 4 },
    });
    expect(gateway.reports[0].ttftMs).toBeGreaterThanOrEqual(25);
  });

  it('close() reports a stream nobody finished reading, with what it measured', async () => {
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: 'http://unused' })]);
    const gw = client(gateway.url);
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        yield 'token';
        await sleep(10);
      }
    }
    const stream = await gw.call('gpt-4o', () => endless());
    for await (const _token of stream) break;
    const unread = await gw.call('gpt-4o', () => endless());
    expect(gw.stats().openStreams).toBe(1);
    await gw.close();
    expect(gateway.reports).toHaveLength(2);
    // The first ended when its loop broke (a token seen); the unread one when the client closed.
    expect(gateway.reports.map((r) => [r.success, typeof r.ttftMs])).toEqual([
      [true, 'number'],
      [true, 'undefined'],
    ]);
    expect(gw.stats()).toMatchObject({ openStreams: 0, reports: { sent: 2, dropped: 0 } });
    void unread;
  });

  it('reports an SDK stream read through its own toReadableStream(), without waiting for close()', async () => {
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: 'http://unused' })]);
    const gw = client(gateway.url);
    /** What the OpenAI SDK's Stream does: toReadableStream() iterates `this`. */
    class SdkStream {
      async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
        await sleep(20);
        yield { choices: [{ delta: { content: 'Hi' } }], usage: null };
        yield { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } };
      }
      toReadableStream(): ReadableStream<Uint8Array> {
        const iterator = this[Symbol.asyncIterator]();
        return new ReadableStream({
          async pull(controller) {
            const { done, value } = await iterator.next();
            if (done) controller.close();
            else controller.enqueue(new TextEncoder().encode(`${JSON.stringify(value)}\n`));
          },
        });
      }
    }
    const stream = await gw.call('gpt-4o', () => new SdkStream());
    expect(await new Response(stream.toReadableStream()).text()).toContain('"Hi"');
    await eventually(() => expect(gateway.reports).toHaveLength(1), { timeoutMs: 2000 });
    expect(gateway.reports[0]).toMatchObject({ success: true, usageMetrics: { totalTokens: 4 } });
    expect(gateway.reports[0].ttftMs).toBeGreaterThanOrEqual(15);
    expect(gw.stats().openStreams).toBe(0);
  });

  it('reports a stream nobody finishes once maxStreamMs passed, with what it measured', async () => {
    const gateway = await offering([selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: 'http://unused' })]);
    const gw = client(gateway.url);
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        yield 'token';
        await sleep(10);
      }
    }
    const stream = await gw.call('gpt-4o', () => endless(), { maxStreamMs: 150 });
    for await (const _token of stream) break;
    const unread = await gw.call('gpt-4o', () => endless(), { maxStreamMs: 150 });
    expect(gw.stats().openStreams).toBe(1);
    await eventually(() => expect(gateway.reports).toHaveLength(2), { timeoutMs: 2000 });
    expect(gw.stats().openStreams).toBe(0);
    expect(gateway.reports[1]).toMatchObject({ success: true });
    expect(gateway.reports[1].latencyMs).toBeGreaterThanOrEqual(140);
    void unread;
  });

  it('ends an attempt whose usage mapping reads a body that stalls after its headers (TIMEOUT, retried)', async () => {
    const stalled = await backend((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"usage":');
    });
    const good = await backend((_request, res) =>
      json(res, 200, { usage: { prompt_tokens: 1, completion_tokens: 1 } }),
    );
    const gateway = await offering([
      selected({ id: 'a'.repeat(32), businessId: 'stalled', endpoint: stalled.url }),
      selected({ id: 'b'.repeat(32), businessId: 'good', endpoint: good.url }),
    ]);
    const gw = client(gateway.url);
    const res = await gw.call('gpt-4o', get, { usage: usageFromResponse, attemptTimeoutMs: 200 });
    expect(res.status).toBe(200);
    await gw.flush();
    expect(gateway.reports.map((r) => [r.businessId, r.success, r.errorType])).toEqual([
      ['stalled', false, 'TIMEOUT'],
      ['good', true, undefined],
    ]);

    // The caller's own signal ends it too.
    const caller = AbortSignal.timeout(100);
    const only = await offering([selected({ id: 'a'.repeat(32), businessId: 'stalled', endpoint: stalled.url })]);
    const started = Date.now();
    await expect(
      client(only.url).call('gpt-4o', get, { usage: usageFromResponse, signal: caller }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry an error whose message says it is a client error (the gateway would not either)', async () => {
    const gateway = await offering([
      selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: 'http://unused' }),
      selected({ id: 'b'.repeat(32), businessId: 'b', endpoint: 'http://unused' }),
    ]);
    const gw = client(gateway.url);
    let calls = 0;
    const error = (await gw
      .call('gpt-4o', () => {
        calls++;
        throw new Error('400 Bad Request: maximum context length is 8192 tokens');
      })
      .catch((e: unknown) => e)) as GatewayCallError;
    expect(calls).toBe(1);
    expect(error.attempts.map((a) => a.outcome)).toEqual(['CLIENT_ERROR']);
  });

  it('refuses to guess when the gateway is unreachable and fail-open is off', async () => {
    const gw = client(`http://127.0.0.1:${await closedPort()}`);
    const error = (await gw.call('gpt-4o', get).catch((e: unknown) => e)) as GatewaySelectError;
    expect(error).toBeInstanceOf(GatewaySelectError);
    expect(error.code).toBe('GATEWAY_UNREACHABLE');
    expect(error.unavailable).toBe(true);
  });

  it('fail-open: uses the last known instances while the gateway is away, and reports once it is back', async () => {
    const a = await backend((_request, res) => json(res, 200, { from: 'a' }));
    const b = await backend((_request, res) => json(res, 500, {}));
    const instances = [
      selected({ id: 'a'.repeat(32), businessId: 'a', endpoint: a.url }),
      selected({ id: 'b'.repeat(32), businessId: 'b', endpoint: b.url }),
    ];
    let turn = 0;
    const gateway = await fakeGateway({
      select: (_body, res) => json(res, 200, ok({ ...instances[turn++ % 2], selectionId: `sel-${turn}` })),
    });
    const gw = client(gateway.url, { failOpen: { maxStaleMs: 60_000 } });
    // Two selections teach the client both instances (b fails, a serves).
    await gw.call('gpt-4o', get);
    await gw.call('gpt-4o', get);
    await gw.flush();
    const port = gateway.port;
    await gateway.close();

    const contexts: { businessId: string; failOpen: boolean; selectionId: string | null }[] = [];
    for (let n = 0; n < 3; n++) {
      const res = await gw.call('gpt-4o', (instance, context) => {
        contexts.push({
          businessId: instance.businessId,
          failOpen: context.failOpen,
          selectionId: instance.selectionId,
        });
        return get(instance, context);
      });
      expect(await res.json()).toEqual({ from: 'a' });
    }
    // b failed recently: memory skips it; every attempt is marked fail-open, without a selection id.
    expect(contexts).toEqual(Array(3).fill({ businessId: 'a', failOpen: true, selectionId: null }));
    expect(gw.stats().failOpenAttempts).toBe(3);
    await expect(gw.flush()).rejects.toMatchObject({ code: 'GATEWAY_UNREACHABLE' });
    expect(gw.stats().reports.queued).toBe(3);

    // The gateway returns on its old address; the queue retries on its own.
    const revived = await fakeGateway({ select: (_body, res) => json(res, 200, ok(instances[0])) }, port);
    servers.push(revived);
    await eventually(() => expect(revived.reports).toHaveLength(3), { timeoutMs: 5000 });
    expect(
      revived.reports.every((r) => r.selectionId === undefined && r.success === true && r.businessId === 'a'),
    ).toBe(true);
  });
});

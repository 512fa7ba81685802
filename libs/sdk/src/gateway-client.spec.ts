import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayCallError, GatewaySelectError } from './errors';
import { GatewayClient } from './gateway-client';
import { type LiveGateway, liveGateway } from './testing/live-gateway';
import { type LocalServer, closedPort, json, listen } from './testing/servers';
import type { SelectedInstance } from './types';
import { usageFromResponse } from './usage';

const COMPLETION = {
  id: 'chatcmpl-1',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
};

/** The call every test makes: an OpenAI-compatible POST to the instance's endpoint. */
const chat = (instance: SelectedInstance, { signal }: { signal: AbortSignal }) =>
  fetch(`${instance.endpoint}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    signal,
  });

describe('GatewayClient against the real gateway', () => {
  let gateway: LiveGateway;
  let good: LocalServer;
  let failing: LocalServer;
  let hanging: LocalServer;
  let picky: LocalServer;
  let streaming: LocalServer;
  let gw: GatewayClient;

  beforeAll(async () => {
    gateway = await liveGateway();
    good = await listen((_request, res) => json(res, 200, COMPLETION));
    failing = await listen((_request, res) =>
      json(res, 500, { error: { message: 'The server had an error', type: 'server_error' } }),
    );
    hanging = await listen(() => undefined);
    picky = await listen((_request, res) =>
      json(res, 400, {
        error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error' },
      }),
    );
    streaming = await listen(async (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ choices: [{ delta: { role: 'assistant', content: '' } }], usage: null })}\n\n`,
      );
      await sleep(80);
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'Hi' } }], usage: null })}\n\n`);
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
  });
  beforeEach(() => {
    gw = new GatewayClient({ baseUrl: gateway.url, apiKey: gateway.apiKey, reports: { intervalMs: 20 } });
  });
  afterEach(() => gw.close());
  afterAll(async () => {
    await Promise.all([good, failing, hanging, picky, streaming].map((server) => server.close()));
    await gateway.close();
  });

  /** Registers instances of one identifier (business ids are unique per apiType: each test has its own); answers their ids. */
  async function register(apiIdentifier: string, endpoints: Record<string, string>): Promise<Record<string, string>> {
    const synced = await gw.sync(
      Object.entries(endpoints).map(([businessId, endpoint]) => ({ apiIdentifier, businessId, endpoint })),
    );
    return Object.fromEntries(synced.instances.map((instance) => [instance.businessId, instance.id]));
  }

  it('retries a failing instance on the other one and reports every attempt exactly once', async () => {
    const ids = await register('chat-retry', { failing: failing.url, good: good.url });
    const failingBefore = failing.requests.length;
    const CALLS = 6;
    for (let n = 0; n < CALLS; n++) {
      const res = await gw.call('chat-retry', chat, { strategy: 'round-robin', usage: usageFromResponse });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(COMPLETION);
    }
    await gw.flush();
    const failures = failing.requests.length - failingBefore;
    expect(failures).toBeGreaterThanOrEqual(CALLS / 2); // round-robin offered it first every other call
    expect(gw.stats()).toMatchObject({ calls: CALLS, attempts: CALLS + failures, reports: { sent: CALLS + failures } });
    expect(gw.stats().reports.counted).toBe(CALLS + failures);
    const [bad, fine] = await Promise.all([gateway.health(ids.failing), gateway.health(ids.good)]);
    expect(bad.window).toMatchObject({ calls: failures, failures, byOutcome: { SERVER_ERROR: failures } });
    expect(fine.window).toMatchObject({
      calls: CALLS,
      successes: CALLS,
      promptTokens: 12 * CALLS,
      totalTokens: 42 * CALLS,
    });
  });

  it('moves on from an instance that does not answer in time, or refuses connections', async () => {
    const ids = await register('chat-timeout', {
      hanging: hanging.url,
      refused: `http://127.0.0.1:${await closedPort()}`,
    });
    await register('chat-timeout-fallback', { 'fallback-good': good.url });
    const seen: string[] = [];
    const res = await gw.call(
      'chat-timeout',
      (instance, context) => {
        seen.push(instance.businessId);
        return chat(instance, context);
      },
      { attemptTimeoutMs: 200, fallbackChain: ['chat-timeout-fallback'] },
    );
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(3);
    expect(seen.slice(0, 2).sort()).toEqual(['hanging', 'refused']);
    expect(seen[2]).toBe('fallback-good');
    await gw.flush();
    expect((await gateway.health(ids.hanging)).window.byOutcome).toMatchObject({ TIMEOUT: 1 });
    expect((await gateway.health(ids.refused)).window.byOutcome).toMatchObject({ SERVER_ERROR: 1 });
  });

  it('does not retry a client error, and hands back its response to read', async () => {
    // The picky backend is in the higher priority tier: always offered first; a retry would reach the good one.
    const synced = await gw.sync([
      { apiIdentifier: 'chat-picky', businessId: 'picky', endpoint: picky.url, routingParams: { priority: 1 } },
      { apiIdentifier: 'chat-picky', businessId: 'picky-good', endpoint: good.url },
    ]);
    const error = (await gw.call('chat-picky', chat).catch((e: unknown) => e)) as GatewayCallError;
    expect(error).toBeInstanceOf(GatewayCallError);
    expect(error.attempts).toHaveLength(1);
    expect(error.lastAttempt).toMatchObject({ outcome: 'CLIENT_ERROR', statusCode: 400, attempt: 1 });
    expect(error.lastAttempt?.errorMessage).toContain('maximum context length');
    expect(await error.lastAttempt!.response!.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    await gw.flush();
    expect((await gateway.health(synced.instances[0].id)).window.byOutcome).toMatchObject({ CLIENT_ERROR: 1 });
    expect((await gateway.health(synced.instances[1].id)).window.calls).toBe(0);
  });

  it('gives up with every attempt when every instance failed', async () => {
    await register('chat-down', { a: failing.url, b: failing.url.replace('127.0.0.1', 'localhost') });
    const error = (await gw.call('chat-down', chat).catch((e: unknown) => e)) as GatewayCallError;
    expect(error).toBeInstanceOf(GatewayCallError);
    expect(error.attempts.map((a) => a.outcome)).toEqual(['SERVER_ERROR', 'SERVER_ERROR']);
    expect(new Set(error.attempts.map((a) => a.instance.businessId))).toEqual(new Set(['a', 'b']));
    expect(error.cause).toBeInstanceOf(GatewaySelectError);
    expect(error.message).toMatch(/chat-down: no instance left to try after 2 attempt/);
  });

  it('reports an opaque answer (status 0) as UNKNOWN, without a status code the gateway would refuse', async () => {
    const ids = await register('chat-opaque', { opaque: good.url });
    const error = (await gw
      .call('chat-opaque', () => Response.error(), { maxAttempts: 1 })
      .catch((e: unknown) => e)) as GatewayCallError;
    expect(error).toBeInstanceOf(GatewayCallError);
    expect(error.lastAttempt).toMatchObject({ outcome: 'UNKNOWN' });
    expect(error.lastAttempt?.statusCode).toBeUndefined();
    await gw.flush();
    expect(gw.stats().reports).toMatchObject({ sent: 1, counted: 1, rejected: 0 });
    expect((await gateway.health(ids.opaque)).window.byOutcome).toMatchObject({ UNKNOWN: 1 });
  });

  it("turns the gateway's refusals into GatewaySelectError", async () => {
    const nothing = (await gw.call('never-registered', chat).catch((e: unknown) => e)) as GatewaySelectError;
    expect(nothing).toBeInstanceOf(GatewaySelectError);
    expect(nothing).toMatchObject({ status: 400, code: 'NO_AVAILABLE_INSTANCE' });
    expect(nothing.requestId).toMatch(/^[0-9a-f]{32}$/);

    const stranger = new GatewayClient({ baseUrl: gateway.url, apiKey: 'gw_not-a-real-key-0000000000000000000000000' });
    await expect(stranger.call('chat-retry', chat)).rejects.toMatchObject({ status: 401, code: 'INVALID_API_KEY' });
    await stranger.close();
  });

  it('reports a stream when it ends, with its time to first token and usage', async () => {
    const ids = await register('chat-stream', { streaming: streaming.url });
    const res = await gw.call('chat-stream', chat);
    expect(gw.stats().openStreams).toBe(1);
    await gw.flush();
    expect(gw.stats().reports.sent).toBe(0); // nothing reported while the stream is open
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
    await sleep(0);
    expect(gw.stats().openStreams).toBe(0);
    await gw.flush();
    const health = await gateway.health(ids.streaming);
    expect(health.window).toMatchObject({ calls: 1, successes: 1, promptTokens: 9, completionTokens: 2 });
    expect(health.ttftMs).toBeGreaterThanOrEqual(75);
  });
});

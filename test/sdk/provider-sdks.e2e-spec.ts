// Dev dependencies of the repository only (openai 6: version 7 needs Node 22); the SDK does not depend on them.
import AnthropicSdk from '@anthropic-ai/sdk';
import OpenAISdk from 'openai';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayClient } from '../../libs/sdk/src/gateway-client';
import { type LocalServer, fakeGateway, json, listen, ok, selected } from '../../libs/sdk/src/testing/servers';
import { eventually } from '../utils/eventually';

/**
 * The streams of the real OpenAI and Anthropic SDKs, returned by `fn` and consumed the ways
 * their users consume them — `toReadableStream()`, `tee()`, `.on('text')`, `finalMessage()`,
 * `finalChatCompletion()` — each reported once it ends, with its usage, without waiting for
 * `close()`. The SDKs are dev dependencies of the repository (neither the gateway nor the SDK
 * depends on them).
 */
const FIRST_TOKEN_DELAY_MS = 60;

interface OpenAIStreamLike extends AsyncIterable<unknown> {
  toReadableStream(): ReadableStream<Uint8Array>;
  tee(): [OpenAIStreamLike, OpenAIStreamLike];
}
interface OpenAIClient {
  chat: {
    completions: {
      create(body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<OpenAIStreamLike>;
      stream(body: Record<string, unknown>): { finalChatCompletion(): Promise<{ usage?: { total_tokens: number } }> };
    };
  };
}
interface MessageStreamLike {
  on(event: 'text', listener: (delta: string) => void): MessageStreamLike;
  finalMessage(): Promise<{ usage: { input_tokens: number; output_tokens: number } }>;
}
interface AnthropicClient {
  messages: {
    stream(body: Record<string, unknown>): MessageStreamLike;
    create(body: Record<string, unknown>): Promise<AsyncIterable<{ type: string }>>;
  };
}

/** An OpenAI-compatible streaming backend: a role chunk, the token later, the usage chunk, [DONE]. */
async function openAIBackend(res: ServerResponse): Promise<void> {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  const send = (chunk: object): boolean => res.write(`data: ${JSON.stringify({ ...base, ...chunk })}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  await sleep(FIRST_TOKEN_DELAY_MS);
  send({ choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] });
  send({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  send({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } });
  res.end('data: [DONE]\n\n');
}

/** An Anthropic Messages streaming backend. */
async function anthropicBackend(res: ServerResponse): Promise<void> {
  const send = (event: Record<string, unknown>): boolean =>
    res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  send({
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, output_tokens: 1 },
    },
  });
  send({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  await sleep(FIRST_TOKEN_DELAY_MS);
  send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } });
  send({ type: 'content_block_stop', index: 0 });
  send({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 15 },
  });
  send({ type: 'message_stop' });
  res.end();
}

describe('the real provider SDKs’ streams through call()', () => {
  let openai: OpenAIClient;
  let anthropic: AnthropicClient;
  let backend: LocalServer;
  let gateway: Awaited<ReturnType<typeof fakeGateway>>;
  let gw: GatewayClient;

  beforeAll(async () => {
    backend = await listen((request, res) =>
      request.url.startsWith('/anthropic') ? anthropicBackend(res) : openAIBackend(res),
    );
    // Seen through the few methods the cases use (the real classes' types are far wider).
    const OpenAI = OpenAISdk as unknown as new (options: object) => OpenAIClient;
    const Anthropic = AnthropicSdk as unknown as new (options: object) => AnthropicClient;
    openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${backend.url}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${backend.url}/anthropic`, maxRetries: 0 });
    gateway = await fakeGateway({
      select: (_body, res) =>
        json(res, 200, ok(selected({ id: 'a'.repeat(32), businessId: 'provider', endpoint: backend.url }))),
    });
  }, 120_000);
  beforeEach(() => {
    gateway.reports.length = 0;
    gw = new GatewayClient({ baseUrl: gateway.url, apiKey: 'k', reports: { intervalMs: 10 } });
  });
  afterEach(() => gw.close());
  afterAll(async () => {
    await Promise.all([backend?.close(), gateway?.close()]);
  });

  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] };
  const stream = { ...chat, stream: true, stream_options: { include_usage: true } };
  const message = { model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] };

  /** The one report of the call, once the gateway has it, while the client is still open. */
  async function reported(): Promise<Record<string, unknown>> {
    await eventually(() => expect(gateway.reports).toHaveLength(1), { timeoutMs: 3000 });
    expect(gw.stats().openStreams).toBe(0);
    return gateway.reports[0];
  }

  it('OpenAI: a Stream read through its toReadableStream()', async () => {
    const completion = await gw.call('gpt-4o', (_i, { signal }) => openai.chat.completions.create(stream, { signal }));
    expect(await new Response(completion.toReadableStream()).text()).toContain('"Hi"');
    const report = await reported();
    expect(report).toMatchObject({ success: true, usageMetrics: { promptTokens: 9, completionTokens: 2 } });
    expect(report.ttftMs).toBeGreaterThanOrEqual(FIRST_TOKEN_DELAY_MS - 10);
  });

  it('OpenAI: a Stream split with tee(), one branch read through', async () => {
    const completion = await gw.call('gpt-4o', () => openai.chat.completions.create(stream));
    const [left, right] = completion.tee();
    let chunks = 0;
    for await (const _chunk of left) chunks++;
    expect(chunks).toBe(4);
    expect(await reported()).toMatchObject({ success: true, usageMetrics: { totalTokens: 11 } });
    void right;
  });

  it('OpenAI: a ChatCompletionStream awaited with finalChatCompletion()', async () => {
    const helper = await gw.call('gpt-4o', () => openai.chat.completions.stream(stream));
    expect((await helper.finalChatCompletion()).usage?.total_tokens).toBe(11);
    expect(await reported()).toMatchObject({ success: true, usageMetrics: { totalTokens: 11 } });
  });

  it("Anthropic: a MessageStream read through .on('text') and finalMessage()", async () => {
    const helper = await gw.call('claude', () => anthropic.messages.stream(message));
    let text = '';
    helper.on('text', (delta) => (text += delta));
    expect((await helper.finalMessage()).usage).toMatchObject({ input_tokens: 25, output_tokens: 15 });
    expect(text).toBe('Hi');
    const report = await reported();
    expect(report).toMatchObject({
      success: true,
      usageMetrics: { promptTokens: 25, completionTokens: 15, totalTokens: 40 },
    });
    expect(report.ttftMs).toBeGreaterThanOrEqual(FIRST_TOKEN_DELAY_MS - 10);
  });

  it('Anthropic: a MessageStream only listened to, never awaited', async () => {
    const helper = await gw.call('claude', () => anthropic.messages.stream(message));
    let text = '';
    helper.on('text', (delta) => (text += delta));
    expect(await reported()).toMatchObject({ success: true, usageMetrics: { totalTokens: 40 } });
    expect(text).toBe('Hi');
  });

  it('Anthropic: a raw event stream iterated with for await', async () => {
    const events = await gw.call('claude', () => anthropic.messages.create({ ...message, stream: true }));
    const types: string[] = [];
    for await (const event of events) types.push(event.type);
    expect(types.at(-1)).toBe('message_stop');
    expect(await reported()).toMatchObject({ success: true, usageMetrics: { totalTokens: 40 } });
  });
});

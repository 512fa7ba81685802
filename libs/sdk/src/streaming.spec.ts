import { setTimeout as sleep } from 'node:timers/promises';
import { SseDecoder, carriesOutput, meterStream } from './streaming';
import { type LocalServer, listen } from './testing/servers';

function decode(chunks: string[]): [string, string][] {
  const events: [string, string][] = [];
  const decoder = new SseDecoder((data, event) => events.push([event, data]));
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return events;
}

describe('SseDecoder', () => {
  it('splits events on blank lines, joins data lines, keeps the event name', () => {
    expect(decode(['event: message_start\ndata: {"a":1}\n\ndata: x\ndata: y\n\n'])).toEqual([
      ['message_start', '{"a":1}'],
      ['message', 'x\ny'],
    ]);
  });

  it('reads LF, CRLF and CR line ends split anywhere across chunks', () => {
    const text = 'data: one\r\n\r\ndata: two\r\rdata: three\n\n: comment\n\ndata:four\r\n';
    const expected = [
      ['message', 'one'],
      ['message', 'two'],
      ['message', 'three'],
      ['message', 'four'],
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      expect(decode([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
    expect(decode(text.split(''))).toEqual(expected);
  });
});

describe('carriesOutput', () => {
  it('is true for output and false for bookkeeping', () => {
    expect(carriesOutput({ choices: [{ delta: { role: 'assistant', content: '' } }] })).toBe(false);
    expect(carriesOutput({ choices: [{ delta: { content: 'Hi' } }] })).toBe(true);
    expect(carriesOutput({ choices: [{ delta: { tool_calls: [{ index: 0 }] } }] })).toBe(true);
    expect(carriesOutput({ choices: [], usage: { total_tokens: 1 } })).toBe(false);
    expect(carriesOutput({ type: 'message_start', message: {} })).toBe(false);
    expect(carriesOutput({ type: 'ping' })).toBe(false);
    expect(carriesOutput({ type: 'content_block_delta', delta: { text: 'Hi' } })).toBe(true);
    expect(carriesOutput({ type: 'response.output_text.delta', delta: 'Hi' })).toBe(true);
    expect(carriesOutput('plain text')).toBe(true);
    expect(carriesOutput({ anything: 'else' })).toBe(true);
  });
});

const openAIStream = [
  { choices: [{ delta: { role: 'assistant', content: '' } }], usage: null },
  { choices: [{ delta: { content: 'Hel' } }], usage: null },
  { choices: [{ delta: { content: 'lo' } }], usage: null },
  { choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
];

describe('meterStream over a real SSE response', () => {
  let backend: LocalServer;
  const FIRST_TOKEN_DELAY_MS = 120;

  beforeAll(async () => {
    backend = await listen(async (request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (request.url === '/anthropic') {
        res.write(
          'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}\n\n',
        );
        res.write('event: ping\ndata: {"type":"ping"}\n\n');
        await sleep(FIRST_TOKEN_DELAY_MS);
        res.write(
          'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}\n\n',
        );
        res.write('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":15}}\n\n');
        res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
        return;
      }
      if (request.url === '/overloaded') {
        res.write('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n');
        res.end('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n');
        return;
      }
      if (request.url === '/broken') {
        res.write(`data: ${JSON.stringify(openAIStream[1])}\n\n`);
        await sleep(20);
        res.destroy();
        return;
      }
      // The role-only chunk comes at once; the first token later: TTFT must wait for the token.
      res.write(`data: ${JSON.stringify(openAIStream[0])}\n\n`);
      await sleep(FIRST_TOKEN_DELAY_MS);
      for (const chunk of openAIStream.slice(1)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  afterAll(() => backend.close());

  it('measures time to the first token and takes usage from the final chunk, passing bytes on unchanged', async () => {
    const startedAt = performance.now();
    const res = await fetch(`${backend.url}/openai`);
    const { stream, metrics } = meterStream(res.body!, { startedAt });
    const text = await new Response(stream).text();
    expect(text).toContain('"content":"Hel"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const measured = await metrics;
    expect(measured.ended).toBe('end');
    expect(measured.ttftMs).toBeGreaterThanOrEqual(FIRST_TOKEN_DELAY_MS - 5);
    expect(measured.durationMs).toBeGreaterThanOrEqual(measured.ttftMs!);
    expect(measured.usage).toEqual({ promptTokens: 9, completionTokens: 2, totalTokens: 11 });
  });

  it("reads Anthropic's events: input from message_start, output from message_delta", async () => {
    const { stream, metrics } = meterStream((await fetch(`${backend.url}/anthropic`)).body!);
    await new Response(stream).arrayBuffer();
    const measured = await metrics;
    expect(measured.ttftMs).toBeGreaterThanOrEqual(FIRST_TOKEN_DELAY_MS - 5);
    expect(measured.usage).toEqual({ promptTokens: 25, completionTokens: 15, totalTokens: 40 });
  });

  it('notices an error event inside a stream that began with 200', async () => {
    const { stream, metrics } = meterStream((await fetch(`${backend.url}/overloaded`)).body!);
    await new Response(stream).arrayBuffer();
    expect((await metrics).eventError).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
  });

  it('settles with the failure when the connection breaks mid-stream', async () => {
    const { stream, metrics } = meterStream((await fetch(`${backend.url}/broken`)).body!);
    await expect(new Response(stream).text()).rejects.toThrow();
    const measured = await metrics;
    expect(measured.ended).toBe('error');
    expect(measured.ttftMs).toBeDefined();
  });

  it('settles when the consumer cancels, and when abandoned', async () => {
    const first = meterStream((await fetch(`${backend.url}/openai`)).body!);
    const reader = first.stream.getReader();
    await reader.read();
    await reader.cancel();
    expect((await first.metrics).ended).toBe('cancel');

    const second = meterStream((await fetch(`${backend.url}/openai`)).body!);
    second.abandon();
    expect((await second.metrics).ended).toBe('abandoned');
    await second.stream.cancel();
  });
});

describe('meterStream over an async iterable (what the provider SDKs yield)', () => {
  async function* chunks(): AsyncGenerator<unknown> {
    yield openAIStream[0];
    await sleep(50);
    for (const chunk of openAIStream.slice(1)) yield chunk;
  }

  it('passes every chunk on and measures them', async () => {
    const { stream, metrics } = meterStream(chunks());
    const seen: unknown[] = [];
    for await (const chunk of stream) seen.push(chunk);
    expect(seen).toEqual(openAIStream);
    const measured = await metrics;
    expect(measured.ended).toBe('end');
    expect(measured.ttftMs).toBeGreaterThanOrEqual(45);
    expect(measured.usage).toEqual({ promptTokens: 9, completionTokens: 2, totalTokens: 11 });
  });

  it("keeps the SDK object's own methods, and settles when the loop breaks", async () => {
    class SdkStream {
      readonly controller = new AbortController();
      async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
        yield* chunks();
      }
      label(): string {
        return `stream with ${this.controller.signal.aborted ? 'an aborted' : 'a live'} controller`;
      }
    }
    const { stream, metrics } = meterStream(new SdkStream());
    expect(stream).toBeInstanceOf(SdkStream);
    expect(stream.label()).toBe('stream with a live controller');
    for await (const chunk of stream) {
      expect(chunk).toEqual(openAIStream[0]);
      break;
    }
    expect((await metrics).ended).toBe('cancel');
  });
});

/**
 * OpenAI's `Stream` (openai, src/core/streaming.ts), reduced to what metering meets: a private
 * `#client` (a Proxy as `this` breaks it), `tee()` reading `this.iterator()` directly, and
 * `toReadableStream()` iterating `this[Symbol.asyncIterator]()`.
 */
class OpenAIStream<Item> implements AsyncIterable<Item> {
  readonly controller = new AbortController();
  #client: { name: string } | undefined;

  constructor(
    private iterator: () => AsyncIterator<Item>,
    client?: { name: string },
  ) {
    this.#client = client;
  }

  get clientName(): string | undefined {
    return this.#client?.name;
  }

  [Symbol.asyncIterator](): AsyncIterator<Item> {
    return this.iterator();
  }

  tee(): [OpenAIStream<Item>, OpenAIStream<Item>] {
    const left: Promise<IteratorResult<Item>>[] = [];
    const right: Promise<IteratorResult<Item>>[] = [];
    const iterator = this.iterator();
    const teeIterator = (queue: Promise<IteratorResult<Item>>[]): AsyncIterator<Item> => ({
      next: () => {
        if (queue.length === 0) {
          const result = iterator.next();
          left.push(result);
          right.push(result);
        }
        return queue.shift()!;
      },
    });
    return [
      new OpenAIStream(() => teeIterator(left), this.#client),
      new OpenAIStream(() => teeIterator(right), this.#client),
    ];
  }

  toReadableStream(): ReadableStream<Uint8Array> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    let iter: AsyncIterator<Item>;
    return new ReadableStream({
      start() {
        iter = self[Symbol.asyncIterator]();
      },
      async pull(ctrl) {
        const { value, done } = await iter.next();
        if (done) return ctrl.close();
        ctrl.enqueue(new TextEncoder().encode(JSON.stringify(value) + '\n'));
      },
      async cancel() {
        await iter.return?.();
      },
    });
  }
}

/** An OpenAI stream of `openAIStream`'s chunks, the first token after `delayMs`. */
function openAI(delayMs = 50): OpenAIStream<unknown> {
  return new OpenAIStream(() => chunks(delayMs), { name: 'openai' });
}

async function* chunks(delayMs: number): AsyncGenerator<unknown> {
  yield openAIStream[0];
  await sleep(delayMs);
  for (const chunk of openAIStream.slice(1)) yield chunk;
}

type Listener = (...args: unknown[]) => void;

/**
 * Anthropic's `MessageStream` (@anthropic-ai/sdk, src/lib/MessageStream.ts), reduced: it reads its
 * events itself from the start (nobody has to iterate it), hands them out as `streamEvent` and
 * `text`, ends with `end` (after an `error` too), and `done()` / `finalMessage()` settle then.
 * Everything private is `#private`.
 */
class MessageStream {
  #listeners: Record<string, Listener[]> = {};
  #ended = false;
  #errored = false;
  #resolveEnd!: () => void;
  #rejectEnd!: (error: unknown) => void;
  #endPromise = new Promise<void>((resolve, reject) => {
    this.#resolveEnd = resolve;
    this.#rejectEnd = reject;
  });
  #message: { usage: Record<string, number>; content: string } = { usage: {}, content: '' };

  constructor(events: AsyncIterable<Record<string, unknown>>) {
    this.#endPromise.catch(() => undefined);
    setTimeout(() => void this.#run(events), 0);
  }

  get errored(): boolean {
    return this.#errored;
  }

  get aborted(): boolean {
    return false;
  }

  on(event: string, listener: Listener): this {
    (this.#listeners[event] ??= []).push(listener);
    return this;
  }

  async done(): Promise<void> {
    await this.#endPromise;
  }

  /** Iterable like the real one: by listening to its own events. */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    const queue: unknown[] = [];
    let ended = false;
    let waiting: ((result: IteratorResult<unknown>) => void) | undefined;
    this.on('streamEvent', (event) => {
      const reader = waiting;
      waiting = undefined;
      if (reader) reader({ value: event, done: false });
      else queue.push(event);
    });
    this.on('end', () => {
      ended = true;
      waiting?.({ value: undefined, done: true });
    });
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
    };
  }

  async finalMessage(): Promise<{ usage: Record<string, number>; content: string }> {
    await this.done();
    return this.#message;
  }

  async #run(events: AsyncIterable<Record<string, unknown>>): Promise<void> {
    try {
      for await (const event of events) {
        const usage = ((event.message as Record<string, unknown> | undefined)?.usage ?? event.usage) as
          Record<string, number> | undefined;
        if (usage) this.#message.usage = { ...this.#message.usage, ...usage };
        this.#emit('streamEvent', event, this.#message);
        const delta = event.delta as { text?: string } | undefined;
        if (event.type === 'content_block_delta' && delta?.text) {
          this.#message.content += delta.text;
          this.#emit('text', delta.text, this.#message.content);
        }
      }
      this.#emit('end');
    } catch (error) {
      this.#errored = true;
      this.#emit('error', error);
    }
  }

  #emit(event: string, ...args: unknown[]): void {
    if (this.#ended) return;
    if (event === 'end') {
      this.#ended = true;
      this.#resolveEnd();
    }
    for (const listener of this.#listeners[event] ?? []) listener(...args);
    if (event === 'error') {
      this.#rejectEnd(args[0]);
      this.#emit('end');
    }
  }
}

async function* anthropicEvents(fail = false): AsyncGenerator<Record<string, unknown>> {
  yield { type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } };
  await sleep(50);
  yield { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } };
  if (fail) throw Object.assign(new Error('Overloaded'), { status: 529 });
  yield { type: 'message_delta', usage: { output_tokens: 15 } };
  yield { type: 'message_stop' };
}

/** Whether a promise has settled by the time queued callbacks and a short wait have run. */
async function settledSoon(promise: Promise<unknown>, ms = 30): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await sleep(ms);
  return settled;
}

describe("meterStream over the provider SDKs' stream objects, however they are consumed", () => {
  const usage = { promptTokens: 9, completionTokens: 2, totalTokens: 11 };

  it("meters OpenAI's toReadableStream(), which iterates the object itself, and keeps the object as it is", async () => {
    const original = openAI();
    const { stream, metrics } = meterStream(original);
    expect(stream).toBe(original);
    expect(stream.clientName).toBe('openai'); // private fields still work
    const text = await new Response(stream.toReadableStream()).text();
    expect(text.trim().split('\n')).toHaveLength(openAIStream.length);
    const measured = await metrics;
    expect(measured).toMatchObject({ ended: 'end', usage });
    expect(measured.ttftMs).toBeGreaterThanOrEqual(45);
  });

  it("meters the branches of OpenAI's tee(): ended when one is read through, cancelled only when both stop", async () => {
    const whole = meterStream(openAI());
    const [left, right] = whole.stream.tee();
    expect(left.clientName).toBe('openai');
    const seen: unknown[] = [];
    for await (const chunk of left) seen.push(chunk);
    expect(seen).toEqual(openAIStream);
    expect(await whole.metrics).toMatchObject({ ended: 'end', usage });
    let rest = 0;
    for await (const _chunk of right) rest++;
    expect(rest).toBe(openAIStream.length);

    const split = meterStream(openAI(0));
    const [a, b] = split.stream.tee();
    for await (const _chunk of a) break;
    expect(await settledSoon(split.metrics)).toBe(false); // b may still be read
    for await (const _chunk of b) break;
    expect((await split.metrics).ended).toBe('cancel');
  });

  it("meters Anthropic's MessageStream read through .on('text') and finalMessage(), never iterated", async () => {
    const { stream, metrics } = meterStream(new MessageStream(anthropicEvents()));
    let text = '';
    stream.on('text', (delta) => (text += String(delta)));
    const message = await stream.finalMessage();
    expect(text).toBe('Hi');
    expect(message.content).toBe('Hi');
    const measured = await metrics;
    expect(measured).toMatchObject({
      ended: 'end',
      usage: { promptTokens: 25, completionTokens: 15, totalTokens: 40 },
    });
    expect(measured.ttftMs).toBeGreaterThanOrEqual(45);
  });

  it("settles a MessageStream at its 'end' even when nobody awaits it, and with its error when it failed", async () => {
    const quiet = meterStream(new MessageStream(anthropicEvents()));
    expect(await quiet.metrics).toMatchObject({ ended: 'end', usage: { promptTokens: 25, completionTokens: 15 } });

    const failing = meterStream(new MessageStream(anthropicEvents(true)));
    failing.stream.on('error', () => undefined); // the application's own handler
    const measured = await failing.metrics;
    expect(measured.ended).toBe('error');
    expect(measured.error).toMatchObject({ message: 'Overloaded', status: 529 });
    expect(measured.ttftMs).toBeDefined();
  });

  it("takes the usage of what a completion method resolved to (OpenAI's finalChatCompletion())", async () => {
    // A stream helper without events: only its completion method tells that it ended.
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    const helper = {
      async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
        await ended;
        yield* [];
      },
      finalChatCompletion: async () => {
        await ended;
        return { choices: [], usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 } };
      },
    };
    const { stream, metrics } = meterStream(helper);
    const completion = stream.finalChatCompletion();
    expect(await settledSoon(metrics)).toBe(false);
    finish();
    expect((await completion).usage.total_tokens).toBe(10);
    expect(await metrics).toMatchObject({
      ended: 'end',
      usage: { promptTokens: 4, completionTokens: 6, totalTokens: 10 },
    });

    const failing = meterStream({ ...helper, done: () => Promise.reject(new Error('stream broke')) });
    await expect(failing.stream.done()).rejects.toThrow('stream broke');
    expect(await failing.metrics).toMatchObject({ ended: 'error', error: new Error('stream broke') });
  });

  it('still meters the iteration of an object that refuses new properties', async () => {
    const frozen = Object.freeze(openAI());
    const { stream, metrics } = meterStream(frozen);
    const seen: unknown[] = [];
    for await (const chunk of stream) seen.push(chunk);
    expect(seen).toEqual(openAIStream);
    expect(await metrics).toMatchObject({ ended: 'end', usage });
  });
});

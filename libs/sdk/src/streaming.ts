import { StreamUsage, usageFromBody } from './usage';
import type { Usage } from './types';

/** What a metered stream measured, once it ended. */
export interface StreamMetrics {
  /** From the start (the attempt's start inside `call()`) to the first event carrying output, ms. */
  readonly ttftMs?: number;
  /** From the start to the end of the stream, ms. */
  readonly durationMs: number;
  /** From the final chunk (OpenAI `include_usage`) or Anthropic's `message_start`/`message_delta`. */
  readonly usage?: Usage;
  /** `end`: read to the end; `error`: the stream failed; `cancel`: the consumer stopped; `abandoned`: given up unfinished (`abandon()`: the client closed, or the stream outlived its limit). */
  readonly ended: 'end' | 'error' | 'cancel' | 'abandoned';
  /** The stream's own failure (`ended: 'error'`). */
  readonly error?: unknown;
  /** An error event inside a stream that began well (Anthropic `event: error`, OpenAI `{"error": …}`). */
  readonly eventError?: { readonly type?: string; readonly message: string };
}

/** A metered stream, what it will measure, and a way to end the measurement early. */
export interface Metered<S> {
  readonly stream: S;
  readonly metrics: Promise<StreamMetrics>;
  /** Settles `metrics` now with what was seen (`ended: 'abandoned'`); later events are ignored. */
  readonly abandon: () => void;
}

/**
 * Server-sent events, decoded just enough to meter them: `event` and `data` fields per the HTML
 * standard (LF, CRLF or CR line ends, split anywhere across chunks; comments ignored).
 * Hand-written because the maintained parser (eventsource-parser 4) is ESM-only and needs Node 22,
 * while this package is CommonJS for Node 20.
 */
export class SseDecoder {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  /** The last chunk ended with CR: a LF opening the next one completes that CRLF. */
  private skipLF = false;

  constructor(private readonly onEvent: (data: string, event: string) => void) {}

  push(text: string): void {
    if (text === '') return;
    let i = this.skipLF && text.startsWith('\n') ? 1 : 0;
    this.skipLF = false;
    let start = i;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch !== '\n' && ch !== '\r') continue;
      this.line(this.buffer + text.slice(start, i));
      this.buffer = '';
      if (ch === '\r') {
        if (i + 1 === text.length) this.skipLF = true;
        else if (text[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer += text.slice(start);
  }

  /** The stream ended: an event without its closing blank line still counts (EventSource would drop it; metering loses nothing). */
  end(): void {
    if (this.buffer !== '') this.line(this.buffer);
    this.buffer = '';
    this.line('');
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.data.join('\n'), this.event || 'message');
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function nonEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/**
 * Whether a chunk carries output (the "first token"): an OpenAI choice whose delta has more than
 * its role, Anthropic's `content_block_delta`, a Responses API `response.*.delta`; a chunk of an
 * unknown shape counts, typed bookkeeping events (`message_start`, `ping`, …) do not.
 */
export function carriesOutput(chunk: unknown): boolean {
  const object = record(chunk);
  if (object === undefined) return nonEmpty(chunk);
  if (Array.isArray(object.choices)) {
    return (object.choices as unknown[]).some((choice) => {
      const c = record(choice);
      if (c === undefined) return false;
      if (nonEmpty(c.text)) return true;
      const delta = record(c.delta) ?? record(c.message);
      return delta !== undefined && Object.entries(delta).some(([key, value]) => key !== 'role' && nonEmpty(value));
    });
  }
  if (typeof object.type === 'string') {
    return object.type === 'content_block_delta' || /^response\..*\.delta$/.test(object.type);
  }
  return true;
}

/** An error event inside a stream: Anthropic `{type: "error", error}`, OpenAI `{error}` without choices. */
function eventErrorOf(chunk: unknown): StreamMetrics['eventError'] {
  const object = record(chunk);
  const error = record(object?.error);
  if (object === undefined || error === undefined || Array.isArray(object.choices)) return undefined;
  const type = [error.type, error.code].find((v): v is string => typeof v === 'string');
  const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
  return { ...(type === undefined ? {} : { type }), message };
}

/** Watches chunks go by: first output, usage, error events; settles once. */
class Meter {
  private ttftMs?: number;
  private readonly usage = new StreamUsage();
  private eventError?: StreamMetrics['eventError'];
  private settled = false;
  /** Consumers that may still read (an SDK stream's `tee()` makes two of one); the last to stop cancels. */
  private consumers = 1;
  private resolve!: (metrics: StreamMetrics) => void;
  readonly metrics = new Promise<StreamMetrics>((resolve) => (this.resolve = resolve));

  constructor(
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {}

  observe(chunk: unknown): void {
    if (this.settled) return;
    if (this.ttftMs === undefined && carriesOutput(chunk))
      this.ttftMs = Math.max(0, Math.round(this.now() - this.startedAt));
    this.usage.add(chunk);
    this.eventError ??= eventErrorOf(chunk);
  }

  /** One SSE `data` field: JSON when it parses, else text (which counts as output); `[DONE]` ends nothing. */
  observeSse(data: string, event: string): void {
    if (data === '[DONE]') return;
    let parsed: unknown = data;
    try {
      parsed = JSON.parse(data);
    } catch {
      // Plain-text events are output too.
    }
    if (event === 'error' && record(parsed) !== undefined && record(record(parsed)?.error) === undefined) {
      parsed = { error: parsed };
    }
    this.observe(parsed);
  }

  /** What an SDK's completion method resolved to (a final message): its usage, when no event carried any. */
  complete(value: unknown): void {
    if (this.settled) return;
    this.usage.fallback(usageFromBody(value));
    this.finish('end');
  }

  /** More consumers share this stream (the branches of a `tee()` replace the one that split). */
  hold(more: number): void {
    this.consumers += Math.max(0, more);
  }

  /** A consumer stopped before the end; when none is left, the stream was cancelled. */
  release(): void {
    this.consumers--;
    if (this.consumers <= 0) this.finish('cancel');
  }

  finish(ended: StreamMetrics['ended'], error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve({
      ...(this.ttftMs === undefined ? {} : { ttftMs: this.ttftMs }),
      durationMs: Math.max(0, Math.round(this.now() - this.startedAt)),
      ...(this.usage.result() === undefined ? {} : { usage: this.usage.result() }),
      ended,
      ...(error === undefined ? {} : { error }),
      ...(this.eventError === undefined ? {} : { eventError: this.eventError }),
    });
  }
}

/** Options of {@link meterStream}. */
export interface MeterOptions {
  /** `performance.now()` at the start of the call (default: now). */
  readonly startedAt?: number;
}

const monotonic = (): number => performance.now();

/**
 * Wraps a stream so that reading it measures time-to-first-token and picks up usage; `metrics`
 * settles when the stream ends, fails or is cancelled. A byte stream is read as server-sent
 * events (an OpenAI-compatible or Anthropic streaming body); an async iterable's items are read as
 * parsed chunks (what the OpenAI and Anthropic SDKs yield). The wrapper passes every chunk on
 * unchanged and keeps backpressure.
 *
 * An async iterable is metered in place and handed back as is: `for await`, its own methods that
 * iterate it (`toReadableStream()`), the branches of its `tee()`, the promises of its completion
 * methods (`done()`, `finalMessage()`, `finalChatCompletion()`, `finalResponse()`, …) and, for the
 * SDKs' event-emitting helpers, their raw events and `end` (see the README's Streaming section).
 *
 * @example
 * const res = await fetch(url, { method: 'POST', body: JSON.stringify({ …, stream: true, stream_options: { include_usage: true } }) });
 * const { stream, metrics } = meterStream(res.body!);
 * for await (const chunk of stream) process(chunk);
 * const { ttftMs, usage } = await metrics;
 */
export function meterStream<S extends ReadableStream<Uint8Array> | AsyncIterable<unknown>>(
  stream: S,
  options: MeterOptions = {},
): Metered<MeteredStream<S>> {
  const meter = new Meter(options.startedAt ?? monotonic(), monotonic);
  const abandon = (): void => meter.finish('abandoned');
  const metered = isReadableStream(stream) ? meterBytes(stream, meter) : meterIterable(stream, meter);
  return { stream: metered as MeteredStream<S>, metrics: meter.metrics, abandon };
}

/**
 * What {@link meterStream} hands back: a new byte stream for a byte stream (the one a `Response`
 * body is); for an async iterable, the same object, metered in place (an SDK's stream keeps its
 * class, methods and identity; see the README's Streaming section for what is metered).
 */
export type MeteredStream<S> = S extends ReadableStream<unknown> ? ReadableStream<Uint8Array> : S;

/** Whether a value is a WHATWG `ReadableStream` (duck-typed: realms and polyfills differ). */
export function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof record(value)?.getReader === 'function';
}

/** Whether a value can be iterated with `for await`. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof record(value)?.[Symbol.asyncIterator as unknown as string] === 'function';
}

function meterBytes(source: ReadableStream<Uint8Array>, meter: Meter): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  const sse = new SseDecoder((data, event) => meter.observeSse(data, event));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          sse.push(decoder.decode());
          sse.end();
          meter.finish('end');
          controller.close();
          return;
        }
        sse.push(typeof value === 'string' ? value : decoder.decode(value, { stream: true }));
        controller.enqueue(value);
      } catch (error) {
        meter.finish('error', error);
        controller.error(error);
      }
    },
    cancel(reason) {
      meter.finish('cancel');
      return reader.cancel(reason);
    },
  });
}

/**
 * Methods of the SDKs' stream helpers whose promise settles once the stream has ended: Anthropic's
 * `MessageStream` (`done`, `finalMessage`, `finalText`), OpenAI's `ChatCompletionStream` (`done`,
 * `finalChatCompletion`, `finalContent`, `finalMessage`) and `ResponseStream` (`finalResponse`).
 */
const COMPLETION_METHODS = [
  'done',
  'finalMessage',
  'finalChatCompletion',
  'finalResponse',
  'finalText',
  'finalContent',
] as const;

/**
 * Events by which those helpers hand out each raw API event, whoever consumes the stream (their
 * `.on('text')` users never iterate): Anthropic `streamEvent`, OpenAI `chunk` (Chat Completions)
 * and `event` (Responses). Never `error` or `abort`: a listener there would silence the SDK's own
 * unhandled-rejection report of an error nobody handles.
 */
const RAW_EVENTS = ['streamEvent', 'chunk', 'event'] as const;

type Method = (...args: unknown[]) => unknown;

/** Sets an own, non-enumerable property; false when the object refuses (frozen, non-configurable). */
function shadow(target: object, key: PropertyKey, value: unknown): boolean {
  try {
    Object.defineProperty(target, key, { value, configurable: true, writable: true, enumerable: false });
    return true;
  } catch {
    return false;
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function';

/** Iterates what `open` returns, showing every chunk to the meter; settles it at the end or on a failure. */
async function* meteredIteration<T>(open: () => AsyncIterator<T>, meter: Meter): AsyncGenerator<T> {
  let ended = false;
  try {
    for await (const chunk of { [Symbol.asyncIterator]: open }) {
      meter.observe(chunk);
      yield chunk;
    }
    ended = true;
    meter.finish('end');
  } catch (error) {
    ended = true;
    meter.finish('error', error);
    throw error;
  } finally {
    if (!ended) meter.release();
  }
}

/**
 * Meters an SDK stream in place: the object itself gets own properties that shadow its methods,
 * so it keeps its class, its private fields (`#client`, which a Proxy would break) and its
 * identity, and its own methods that iterate `this[Symbol.asyncIterator]()` (`toReadableStream()`)
 * are metered too. Returns false when the object refuses new properties.
 */
function instrument(target: object, meter: Meter): boolean {
  const subject = target as Record<PropertyKey, unknown>;
  const iterate = subject[Symbol.asyncIterator] as () => AsyncIterator<unknown>;
  if (!shadow(target, Symbol.asyncIterator, () => meteredIteration(() => iterate.call(target), meter))) return false;

  // OpenAI's `tee()` reads its source directly: each branch is metered, and the stream was
  // cancelled only when every branch stopped early.
  const tee = subject.tee;
  if (typeof tee === 'function') {
    shadow(target, 'tee', (...args: unknown[]) => {
      const branches = (tee as Method).apply(target, args);
      if (Array.isArray(branches)) {
        meter.hold(branches.length - 1);
        for (const branch of branches as unknown[]) {
          if (isAsyncIterable(branch)) instrument(branch, meter);
        }
      }
      return branches;
    });
  }

  for (const name of COMPLETION_METHODS) {
    const method = subject[name];
    if (typeof method !== 'function') continue;
    shadow(target, name, (...args: unknown[]) => {
      const result = (method as Method).apply(target, args);
      if (isThenable(result)) {
        result.then(
          (value) => meter.complete(value),
          (error: unknown) => meter.finish('error', error),
        );
      }
      return result;
    });
  }

  if (typeof subject.on === 'function') listen(target, subject.on as Method, meter);
  return true;
}

/** An event-emitting SDK stream: its raw events are observed, its `end` settles the meter. */
function listen(target: object, on: Method, meter: Meter): void {
  const subject = target as { errored?: unknown; aborted?: unknown; done?: unknown };
  const ended = (): void => {
    if (subject.errored === true && typeof subject.done === 'function') {
      // The error itself is only in done()'s rejection; asked for after 'end', so the SDK has
      // already decided whether nobody handled it (and said so).
      Promise.resolve()
        .then(() => (subject.done as Method).call(target))
        .then(
          () => meter.finish('error', new Error('the stream failed')),
          (error: unknown) => meter.finish('error', error),
        );
    } else if (subject.errored instanceof Error) {
      meter.finish('error', subject.errored);
    } else if (subject.aborted === true) {
      meter.finish('cancel');
    } else {
      meter.finish('end');
    }
  };
  try {
    for (const name of RAW_EVENTS) on.call(target, name, (event: unknown) => meter.observe(event));
    on.call(target, 'end', ended);
  } catch {
    // An emitter that refuses unknown event names: its iteration and completion methods are still metered.
  }
}

function meterIterable<T>(source: AsyncIterable<T>, meter: Meter): AsyncIterable<T> {
  const metered = (): AsyncGenerator<T> => meteredIteration(() => source[Symbol.asyncIterator](), meter);
  if ((typeof source === 'object' || typeof source === 'function') && source !== null) {
    if (Object.isExtensible(source) && instrument(source, meter)) return source;
    // A frozen object: a proxy meters `for await`; its own methods read the original (unmetered).
    return new Proxy(source as object, {
      get(target, property) {
        if (property === Symbol.asyncIterator) return metered;
        const value: unknown = Reflect.get(target, property, target);
        const own = Object.getOwnPropertyDescriptor(target, property);
        // A frozen own property must be answered as it is (a proxy invariant).
        if (own !== undefined && !own.configurable && !own.writable) return value;
        return typeof value === 'function' ? (value as Method).bind(target) : value;
      },
    }) as AsyncIterable<T>;
  }
  return { [Symbol.asyncIterator]: metered };
}

import { type GatewayErrorCode, GatewayRequestError } from './errors';
import { retryAfterMs } from './outcome';

/** How the SDK reaches the gateway. */
export interface TransportOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch?: typeof fetch;
  /** Each request's time limit, ms. */
  readonly timeoutMs: number;
}

/** One gateway request. */
export interface GatewayRequest {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** The caller's cancellation: rethrown as is (not a gateway failure). */
  readonly signal?: AbortSignal;
  /** Overrides the transport's limit (what is left of a call's deadline; a long sync). */
  readonly timeoutMs?: number;
  /** The error class to throw (GatewaySelectError for select-instance). */
  readonly errorClass?: typeof GatewayRequestError;
}

/** Starts a timer that does not keep a Node process alive (browsers have no `unref`). */
export function unrefTimer(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(callback, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * JSON over fetch to the gateway: sends the `api-key`, unwraps the success envelope's `data`, and
 * turns everything else into a {@link GatewayRequestError} (the error envelope, or why there was
 * no answer). Runtime-neutral: global fetch, AbortController and timers only.
 */
export class Transport {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TransportOptions) {
    this.base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    // Called unbound: some runtimes' fetch throws "Illegal invocation" when called as a method.
    const custom = options.fetch;
    this.fetch = custom ? (input, init) => custom(input, init) : (input, init) => fetch(input, init);
  }

  async request<T>(method: string, path: string, init: GatewayRequest = {}): Promise<T> {
    const ErrorClass = init.errorClass ?? GatewayRequestError;
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const timeoutMs = Math.max(1, init.timeoutMs ?? this.options.timeoutMs);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort(init.signal?.reason);
    if (init.signal?.aborted) onAbort();
    init.signal?.addEventListener('abort', onAbort, { once: true });
    const headers: Record<string, string> = { accept: 'application/json', 'api-key': this.options.apiKey };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(url.toString(), {
          method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: controller.signal,
        });
        text = await response.text();
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        const code: GatewayErrorCode = timedOut ? 'GATEWAY_TIMEOUT' : 'GATEWAY_UNREACHABLE';
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : describe(error);
        throw new ErrorClass({ code, message: `${method} ${url.pathname}: ${reason}`, cause: error });
      }
      return this.unwrap<T>(response, text, ErrorClass, `${method} ${url.pathname}`);
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
    }
  }

  private unwrap<T>(response: Response, text: string, ErrorClass: typeof GatewayRequestError, what: string): T {
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: a proxy's page or a truncated answer, reported below.
    }
    if (response.ok && body !== undefined && body.code === 200) return body.data as T;
    const details = body?.details;
    const hinted = (details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const retry = typeof hinted === 'number' ? hinted : retryAfterMs(response.headers);
    if (body === undefined || typeof body.error !== 'string') {
      throw new ErrorClass({
        status: response.status,
        code: 'GATEWAY_BAD_RESPONSE',
        message: `${what}: HTTP ${response.status} without the gateway's envelope: ${text.slice(0, 200)}`,
        retryAfterMs: retry,
      });
    }
    throw new ErrorClass({
      status: response.status,
      code: body.error as GatewayErrorCode,
      message: typeof body.message === 'string' ? body.message : `${what}: HTTP ${response.status}`,
      details,
      requestId: typeof body.requestId === 'string' ? body.requestId : undefined,
      retryAfterMs: retry,
    });
  }
}

/** An error's message with its cause's (Node's fetch says "fetch failed", its cause says why). */
export function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const record = current as { message?: unknown; code?: unknown; cause?: unknown };
    const message = typeof record.message === 'string' && record.message !== '' ? record.message : undefined;
    const code = typeof record.code === 'string' ? record.code : undefined;
    if (message) parts.push(message);
    else if (code) parts.push(code);
    current = record.cause;
  }
  return parts.join(': ') || String(error);
}

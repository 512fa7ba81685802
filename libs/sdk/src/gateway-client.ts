import { type GatewayApi, createGatewayApi } from './client';
import { GatewayCallError, GatewayRequestError, GatewaySelectError } from './errors';
import { type FailOpenOptions, InstanceMemory, type MemoryRequest } from './fail-open';
import type { components } from './generated/schema';
import { type Classified, classifyError, classifyResponse } from './outcome';
import { type ReportErrorHandler, ReportQueue, type ReportQueueOptions, type ReportStats } from './report-queue';
import { type StreamMetrics, isAsyncIterable, meterStream } from './streaming';
import { type SyncInstance, type SyncOptions, type SyncResult, syncInstances } from './sync';
import { Transport, sleep, unrefTimer } from './transport';
import type {
  ApiType,
  AttemptReport,
  CallAttempt,
  CallContext,
  CallDefaults,
  CallOptions,
  OutcomeClass,
  SelectedInstance,
  Usage,
} from './types';

/** How to reach the gateway, and the defaults of every call. */
export interface GatewayClientOptions extends CallDefaults {
  /** The gateway's origin, e.g. `http://localhost:8081` (paths start with `/api`). */
  readonly baseUrl: string;
  /** The project's API key, sent as the `api-key` header. */
  readonly apiKey: string;
  /** The fetch used to reach the gateway (default: the global one). Backends are called by your `fn`. */
  readonly fetch?: typeof fetch;
  /** Each gateway request's time limit, ms (default 5000; a selection also stops at the call's deadline). */
  readonly gatewayTimeoutMs?: number;
  /** Batching of reports. */
  readonly reports?: ReportQueueOptions;
  /** Fail-open mode (off unless given): see the README. */
  readonly failOpen?: FailOpenOptions;
  /** Reports given up (refused by the gateway, or dropped unsent). Never throws into a call. */
  readonly onReportError?: ReportErrorHandler;
}

/** What a client did since it was created. */
export interface GatewayClientStats {
  readonly calls: number;
  /** Backend attempts (`fn` invocations); each is reported once. */
  readonly attempts: number;
  /** Attempts on an instance chosen from fail-open memory. */
  readonly failOpenAttempts: number;
  /** Streamed results whose report waits for the stream to end. */
  readonly openStreams: number;
  readonly reports: ReportStats;
}

type Schemas = components['schemas'];

const DEFAULT_API_TYPE: ApiType = 'MODEL';
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;
const DEFAULT_GATEWAY_TIMEOUT_MS = 5000;
const DEFAULT_RETRY_ON: readonly OutcomeClass[] = ['SERVER_ERROR', 'TIMEOUT', 'RATE_LIMITED', 'UNKNOWN'];
/** A streamed result is metered at most until the call's deadline plus this, unless `maxStreamMs` says otherwise. */
const STREAM_GRACE_MS = 300_000;
/** A failed backend's error body is read for at most this long. */
const ERROR_BODY_READ_MS = 1000;
/** select-instance takes at most this many excluded ids; the most recent failures are kept. */
const MAX_EXCLUDED = 100;
const MAX_LATENCY_MS = 86_400_000;
/** Select answers meaning "nothing left to choose" (after exclusions). */
const NOTHING_SELECTABLE = new Set<string>(['NO_AVAILABLE_INSTANCE', 'NO_HEALTHY_INSTANCE', 'FALLBACK_EXHAUSTED']);

/** An instance to try, and where it came from. */
interface Selection {
  readonly instance: SelectedInstance;
  readonly selectionId: string | null;
  readonly failOpen: boolean;
}

/** One call's state across its attempts. */
interface CallState<T> {
  readonly apiIdentifier: string;
  readonly fn: (instance: SelectedInstance, context: CallContext) => T | Promise<T>;
  readonly options: CallOptions<T>;
  readonly apiType: ApiType;
  readonly deadline: number;
  readonly attempts: CallAttempt[];
  /** Failed instances, excluded from the next selections. */
  readonly excluded: Set<string>;
  /** Rate-limited instances and when their backend said they may be tried again (epoch ms). */
  readonly coolingUntil: Map<string, number>;
  /** A non-2xx Response of the last attempt, kept readable for the caller until another attempt starts. */
  lastResponse?: Response;
}

type AttemptResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly attempt: CallAttempt; readonly retryable: boolean };

const isResponse = (value: unknown): value is Response => typeof Response !== 'undefined' && value instanceof Response;

/**
 * The gateway from an application's side: `call()` selects an instance, runs your call on it,
 * times and classifies the outcome, reports it (batched, never blocking) and retries elsewhere;
 * `sync()` registers the application's instances at start-up.
 *
 * @example
 * const gw = new GatewayClient({ baseUrl: 'http://localhost:8081', apiKey: process.env.GATEWAY_KEY! });
 * const res = await gw.call('gpt-4o', (instance, { signal }) =>
 *   fetch(`${instance.endpoint}/chat/completions`, { method: 'POST', headers, body, signal }));
 * await gw.close(); // at shutdown: delivers the queued reports
 */
export class GatewayClient {
  /** The typed client of every route (openapi-fetch), with the same key, for everything else. */
  readonly api: GatewayApi;
  private readonly transport: Transport;
  private readonly reports: ReportQueue;
  private readonly memory?: InstanceMemory;
  private readonly defaults: CallDefaults;
  private readonly gatewayTimeoutMs: number;
  /** Streams whose report waits for their end: how to end them early, and their report's settling. */
  private readonly openStreams = new Map<() => void, Promise<void>>();
  private gatewayDownUntil = 0;
  private closed = false;
  private readonly counters = { calls: 0, attempts: 0, failOpenAttempts: 0 };

  constructor(private readonly options: GatewayClientOptions) {
    this.gatewayTimeoutMs = options.gatewayTimeoutMs ?? DEFAULT_GATEWAY_TIMEOUT_MS;
    this.transport = new Transport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      fetch: options.fetch,
      timeoutMs: this.gatewayTimeoutMs,
    });
    this.api = createGatewayApi({ baseUrl: options.baseUrl, apiKey: options.apiKey, fetch: options.fetch });
    this.reports = new ReportQueue(
      (results) =>
        this.transport.request<{ counted?: number; duplicates?: number } | undefined>(
          'POST',
          '/api/gateway/report-results',
          { body: { results } },
        ),
      options.reports,
      options.onReportError,
    );
    if (options.failOpen) this.memory = new InstanceMemory(options.failOpen);
    this.defaults = {
      apiType: options.apiType,
      strategy: options.strategy,
      maxAttempts: options.maxAttempts,
      timeoutMs: options.timeoutMs,
      attemptTimeoutMs: options.attemptTimeoutMs,
      retryOn: options.retryOn,
      maxStreamMs: options.maxStreamMs,
    };
  }

  /**
   * Calls `fn` on an instance the gateway selects for `apiIdentifier`, and again on another one
   * while the outcome is retryable (`retryOn`), within `maxAttempts` and `timeoutMs`.
   *
   * Each attempt is timed and classified from what `fn` returned or threw — a `Response` by its
   * status (Retry-After and the start of the error body kept), an error by the gateway's own rules
   * (its class name, its `status`/`statusCode`, its message), a timeout, the caller's abort — and
   * reported with its `selectionId` through the batched queue. A rate-limited instance is tried
   * again after its Retry-After when nothing else is left and the wait fits the deadline; a
   * gateway 429 (`QUOTA_EXHAUSTED`, `THROTTLED`, …) is waited out the same way.
   *
   * @returns what `fn` returned; a streamed result (an SSE `Response` or an async iterable) is
   *   handed back metered, and its report waits until the stream ends.
   * @throws {GatewaySelectError} when the first selection fails (nothing registered, bad key, …).
   * @throws {GatewayCallError} when attempts were made and none succeeded; it lists them all.
   * @throws the caller's `signal.reason` when the caller aborted.
   */
  async call<T>(
    apiIdentifier: string,
    fn: (instance: SelectedInstance, context: CallContext) => T | Promise<T>,
    options: CallOptions<T> = {},
  ): Promise<T> {
    if (this.closed) throw new Error('GatewayClient.call() after close()');
    this.counters.calls++;
    const merged: CallOptions<T> = { ...this.defaults, ...definedOnly(options) };
    const call: CallState<T> = {
      apiIdentifier,
      fn,
      options: merged,
      apiType: merged.apiType ?? DEFAULT_API_TYPE,
      deadline: Date.now() + (merged.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      attempts: [],
      excluded: new Set(),
      coolingUntil: new Map(),
    };
    const maxAttempts = Math.max(1, merged.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    let waits = 0;
    for (;;) {
      merged.signal?.throwIfAborted();
      let selection: Selection;
      try {
        selection = await this.select(call);
      } catch (error) {
        if (merged.signal?.aborted) throw merged.signal.reason;
        const wait =
          error instanceof GatewaySelectError ? this.waitBeforeReselect(call, error, waits, maxAttempts) : undefined;
        if (wait !== undefined) {
          waits++;
          await sleep(wait, merged.signal);
          continue;
        }
        if (call.attempts.length === 0) throw error;
        throw this.callError(call, `no instance left to try after ${call.attempts.length} attempt(s)`, error);
      }
      this.releaseLastResponse(call);
      const result = await this.attempt(call, selection);
      if (result.ok) return result.value;
      call.attempts.push(result.attempt);
      if (merged.signal?.aborted) throw merged.signal.reason;
      if (!result.retryable)
        throw this.callError(call, `attempt ${call.attempts.length} failed: ${result.attempt.outcome}`);
      if (call.attempts.length >= maxAttempts) throw this.callError(call, `${call.attempts.length} attempt(s) failed`);
      if (Date.now() >= call.deadline)
        throw this.callError(call, `the call's deadline passed after ${call.attempts.length} attempt(s)`);
      call.excluded.add(selection.instance.id);
      if (result.attempt.outcome === 'RATE_LIMITED' && result.attempt.retryAfterMs !== undefined) {
        call.coolingUntil.set(selection.instance.id, Date.now() + result.attempt.retryAfterMs);
      }
    }
  }

  /**
   * Declarative start-up registration: makes the gateway's registry match `instances`.
   *
   * Registers them all through `POST /api/instances/batch` (created, or updated with what is sent),
   * and deactivates the ACTIVE instances in scope that are not listed. Listed INACTIVE instances
   * stay INACTIVE (an operator's decision survives restarts) unless `activate: true`. Scope: by default only instances sharing an (apiType, apiIdentifier) pair with the
   * list, so services owning other identifiers of the same project are left alone;
   * `scope: 'project'` covers every instance of the project; `deactivateMissing: false` skips
   * deactivation. DEPRECATED instances are never changed.
   *
   * @returns every listed instance with its id and registration, what was (de)activated, and what stays INACTIVE.
   */
  sync(instances: readonly SyncInstance[], options: SyncOptions = {}): Promise<SyncResult> {
    return syncInstances(this.transport, instances, this.defaults.apiType ?? DEFAULT_API_TYPE, options);
  }

  /** Sends every queued report now; rejects when the gateway could not take them (they stay queued). */
  flush(): Promise<void> {
    return this.reports.flush();
  }

  /**
   * Shuts down: streams still open are reported with what they measured so far, then queued reports
   * are delivered, retrying for at most `timeoutMs` (default 5000); what is left is dropped
   * (see `onReportError`). Calls after `close()` are refused.
   */
  async close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    const reported = [...this.openStreams.values()];
    for (const abandon of [...this.openStreams.keys()]) abandon();
    await Promise.all(reported);
    await this.reports.close(options.timeoutMs ?? 5000);
  }

  stats(): GatewayClientStats {
    return { ...this.counters, openStreams: this.openStreams.size, reports: this.reports.stats() };
  }

  /** Asks the gateway, else (fail-open, gateway unavailable) memory. */
  private async select<T>(call: CallState<T>): Promise<Selection> {
    const o = call.options;
    const request: MemoryRequest = {
      apiType: call.apiType,
      userId: o.userId,
      apiIdentifier: call.apiIdentifier,
      fallbackChain: o.fallbackChain,
    };
    const fromMemory = (): Selection | undefined => {
      const instance = this.memory?.choose(request, call.excluded, Date.now());
      return instance === undefined
        ? undefined
        : { instance: { ...instance, selectionId: null }, selectionId: null, failOpen: true };
    };
    if (this.memory !== undefined && Date.now() < this.gatewayDownUntil) {
      const remembered = fromMemory();
      if (remembered !== undefined) return remembered;
    }
    const excluded = [...call.excluded].slice(-MAX_EXCLUDED);
    const body: Schemas['SelectInstanceDto'] = {
      apiIdentifier: call.apiIdentifier,
      apiType: call.apiType,
      ...(o.userId === undefined ? {} : { userId: o.userId }),
      ...(o.affinityKey === undefined ? {} : { affinityKey: o.affinityKey }),
      ...(o.affinityType === undefined ? {} : { affinityType: o.affinityType }),
      ...(o.affinityStrength === undefined ? {} : { affinityStrength: o.affinityStrength }),
      ...(o.fallbackChain === undefined ? {} : { fallbackChain: [...o.fallbackChain] }),
      ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
      ...(o.estimatedTokens === undefined ? {} : { estimatedTokens: o.estimatedTokens }),
      ...(excluded.length === 0 ? {} : { excludeInstanceIds: excluded }),
    };
    try {
      const answer = await this.transport.request<Schemas['SelectedInstanceDto'] & { endpoint?: string | null }>(
        'POST',
        '/api/gateway/select-instance',
        {
          body,
          signal: o.signal,
          timeoutMs: Math.min(this.gatewayTimeoutMs, Math.max(1, call.deadline - Date.now())),
          errorClass: GatewaySelectError,
        },
      );
      const instance: SelectedInstance = { ...answer, endpoint: answer.endpoint ?? null };
      this.memory?.remember(request, instance, Date.now());
      this.gatewayDownUntil = 0;
      return { instance, selectionId: answer.selectionId, failOpen: false };
    } catch (error) {
      if (this.memory !== undefined && error instanceof GatewayRequestError && error.unavailable) {
        this.gatewayDownUntil = Date.now() + (this.options.failOpen?.retryGatewayAfterMs ?? 1000);
        const remembered = fromMemory();
        if (remembered !== undefined) return remembered;
      }
      throw error;
    }
  }

  /**
   * How long to wait before selecting again, or undefined to give up: a gateway 429 with a
   * Retry-After, or — when nothing is left after exclusions — the earliest Retry-After of the
   * rate-limited instances tried (they are let back in). Only waits that end before the deadline.
   */
  private waitBeforeReselect<T>(
    call: CallState<T>,
    error: GatewaySelectError,
    waits: number,
    maxWaits: number,
  ): number | undefined {
    if (waits >= maxWaits) return undefined;
    const now = Date.now();
    const fits = (ms: number): boolean => now + ms < call.deadline;
    if (error.status === 429 && error.retryAfterMs !== undefined) {
      return fits(error.retryAfterMs) ? error.retryAfterMs : undefined;
    }
    if (!NOTHING_SELECTABLE.has(error.code) || call.coolingUntil.size === 0) return undefined;
    const earliest = Math.min(...call.coolingUntil.values());
    const wait = Math.max(0, earliest - now);
    if (!fits(wait)) return undefined;
    for (const [id, until] of call.coolingUntil) {
      if (until <= earliest) {
        call.excluded.delete(id);
        call.coolingUntil.delete(id);
      }
    }
    return wait;
  }

  /** Runs `fn` once on the selected instance: timed, bounded by the attempt's limit, classified, reported. */
  private async attempt<T>(call: CallState<T>, selection: Selection): Promise<AttemptResult<T>> {
    const o = call.options;
    const number = call.attempts.length + 1;
    this.counters.attempts++;
    if (selection.failOpen) this.counters.failOpenAttempts++;
    const limit = Math.max(
      1,
      Math.min(
        o.attemptTimeoutMs ?? routingTimeout(selection.instance) ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
        call.deadline - Date.now(),
      ),
    );
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`attempt ${number} timed out after ${limit} ms`, 'TimeoutError'));
    }, limit);
    const onCallerAbort = (): void => controller.abort(o.signal?.reason);
    if (o.signal?.aborted) onCallerAbort();
    else o.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const unlinkCaller = (): void => o.signal?.removeEventListener('abort', onCallerAbort);
    // `fn` may ignore its signal: the attempt still ends at its limit.
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(controller.signal.reason as Error);
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener('abort', fail, { once: true });
    });
    const context: CallContext = {
      signal: controller.signal,
      attempt: number,
      deadline: call.deadline,
      failOpen: selection.failOpen,
    };
    const callTimestamp = Date.now();
    const started = performance.now();
    const running = Promise.resolve().then(() => call.fn(selection.instance, context));
    // The attempt's timer and the caller's link stay on until the attempt is decided: a usage
    // mapping that reads a body which stalls after its headers ends at the limit too.
    const done = (): void => {
      clearTimeout(timer);
      unlinkCaller();
    };
    const thrown = (error: unknown, latencyMs: number): AttemptResult<T> => {
      done();
      const callerAborted = o.signal?.aborted === true;
      const classified = classifyError(error, {
        callerAborted,
        timedOutAfterMs: timedOut && !callerAborted ? limit : undefined,
      });
      return this.failed({ ...base(latencyMs), classified, error, callerAborted });
    };
    const base = (latencyMs: number): AttemptBase<T> => ({ call, selection, number, latencyMs, callTimestamp });
    const elapsed = (): number => Math.min(MAX_LATENCY_MS, Math.round(performance.now() - started));

    let value: T;
    try {
      value = await Promise.race([running, aborted]);
    } catch (error) {
      // The loser may still resolve to a Response: release its connection.
      running.then(
        (late) => (isResponse(late) ? late.body?.cancel().catch(() => undefined) : undefined),
        () => undefined,
      );
      return thrown(error, elapsed());
    }
    const latencyMs = elapsed();
    if (isResponse(value)) {
      const classified = await classifyResponse(
        value,
        Math.min(ERROR_BODY_READ_MS, Math.max(1, call.deadline - Date.now())),
      );
      if (classified.outcome !== 'SUCCESS') {
        done();
        call.lastResponse = value;
        return this.failed({ ...base(latencyMs), classified, response: value, callerAborted: false });
      }
      if (
        o.stream !== false &&
        value.body !== null &&
        /text\/event-stream/i.test(value.headers.get('content-type') ?? '')
      ) {
        // Not limited by the attempt's timer any more; the caller's signal keeps aborting it until it ends.
        clearTimeout(timer);
        return { ok: true, value: this.meterResponse(value, base(latencyMs), started, unlinkCaller) as T };
      }
    } else if (o.stream !== false && typeof value !== 'string' && isAsyncIterable(value)) {
      clearTimeout(timer);
      return { ok: true, value: this.meterIterable(value, base(latencyMs), started, unlinkCaller) as T };
    }
    let usage: Usage | undefined;
    try {
      usage = await Promise.race([usageOf(o.usage, value), aborted]);
    } catch (error) {
      // The value is not handed back: free its connection.
      if (isResponse(value)) value.body?.cancel().catch(() => undefined);
      return thrown(error, elapsed());
    }
    done();
    this.report(base(latencyMs), {
      success: true,
      ...(isResponse(value) ? { statusCode: value.status } : {}),
      ...(usage === undefined ? {} : { usageMetrics: usage }),
    });
    this.memory?.outcome(selection.instance.id, false, Date.now());
    return { ok: true, value };
  }

  private failed<T>(
    attempt: AttemptBase<T> & {
      readonly classified: Classified;
      readonly error?: unknown;
      readonly response?: Response;
      readonly callerAborted: boolean;
    },
  ): AttemptResult<T> {
    const { classified, selection } = attempt;
    this.report(attempt, { success: false, ...reportFields(classified) });
    if (classified.outcome !== 'CLIENT_ERROR') this.memory?.outcome(selection.instance.id, true, Date.now());
    const record: CallAttempt = {
      attempt: attempt.number,
      instance: selection.instance,
      selectionId: selection.selectionId,
      failOpen: selection.failOpen,
      outcome: classified.outcome,
      latencyMs: attempt.latencyMs,
      ...(classified.statusCode === undefined ? {} : { statusCode: classified.statusCode }),
      ...(classified.retryAfterMs === undefined ? {} : { retryAfterMs: classified.retryAfterMs }),
      ...(classified.errorMessage === undefined ? {} : { errorMessage: classified.errorMessage }),
      ...('error' in attempt ? { error: attempt.error } : {}),
    };
    const retryOn = attempt.call.options.retryOn ?? DEFAULT_RETRY_ON;
    return { ok: false, attempt: record, retryable: !attempt.callerAborted && retryOn.includes(classified.outcome) };
  }

  private meterResponse<T>(response: Response, base: AttemptBase<T>, started: number, unlink: () => void): Response {
    const { stream, metrics, abandon } = meterStream(response.body as ReadableStream<Uint8Array>, {
      startedAt: started,
    });
    this.trackStream(base, metrics, abandon, unlink, response.status);
    const metered = new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    if (response.url) Object.defineProperty(metered, 'url', { value: response.url });
    return metered;
  }

  private meterIterable<T>(
    iterable: AsyncIterable<unknown>,
    base: AttemptBase<T>,
    started: number,
    unlink: () => void,
  ): unknown {
    const { stream, metrics, abandon } = meterStream(iterable, { startedAt: started });
    this.trackStream(base, metrics, abandon, unlink);
    return stream;
  }

  /**
   * The report of a streamed result waits for its end (or its failure, or `close()`), at most
   * `maxStreamMs`: a stream nobody finishes is then reported as abandoned with what it measured,
   * so neither it nor its lease waits forever in a long-running process.
   */
  private trackStream<T>(
    base: AttemptBase<T>,
    metrics: Promise<StreamMetrics>,
    abandon: () => void,
    unlink: () => void,
    statusCode?: number,
  ): void {
    const limit = base.call.options.maxStreamMs ?? Math.max(0, base.call.deadline - Date.now()) + STREAM_GRACE_MS;
    const bound = unrefTimer(abandon, Math.max(1, limit));
    const reported = metrics.then((measured) => {
      clearTimeout(bound);
      this.openStreams.delete(abandon);
      unlink();
      const done = { ...base, latencyMs: Math.min(MAX_LATENCY_MS, measured.durationMs) };
      const ttft = measured.ttftMs === undefined ? {} : { ttftMs: measured.ttftMs };
      if (measured.ended === 'error') {
        const classified = classifyError(measured.error, { callerAborted: base.call.options.signal?.aborted === true });
        this.report(done, { success: false, ...reportFields(classified), ...ttft });
        if (classified.outcome !== 'CLIENT_ERROR') this.memory?.outcome(base.selection.instance.id, true, Date.now());
        return;
      }
      if (measured.eventError !== undefined) {
        const { type, message } = measured.eventError;
        this.report(done, {
          success: false,
          errorMessage: message.slice(0, 2048),
          ...(type === undefined ? {} : { errorType: type }),
          ...ttft,
        });
        this.memory?.outcome(base.selection.instance.id, true, Date.now());
        return;
      }
      this.report(done, {
        success: true,
        ...(statusCode === undefined ? {} : { statusCode }),
        ...(measured.usage === undefined ? {} : { usageMetrics: measured.usage }),
        ...ttft,
      });
      this.memory?.outcome(base.selection.instance.id, false, Date.now());
    });
    this.openStreams.set(abandon, reported);
  }

  private report<T>(
    attempt: AttemptBase<T>,
    fields: Omit<AttemptReport, 'instanceId' | 'businessId' | 'latencyMs' | 'callTimestamp' | 'selectionId' | 'userId'>,
  ): void {
    const { selection, call } = attempt;
    this.reports.push({
      instanceId: selection.instance.id,
      businessId: selection.instance.businessId,
      latencyMs: attempt.latencyMs,
      callTimestamp: attempt.callTimestamp,
      ...(selection.selectionId === null ? {} : { selectionId: selection.selectionId }),
      ...(call.options.userId === undefined ? {} : { userId: call.options.userId }),
      ...fields,
    });
  }

  /** A new attempt starts: the previous one's failed Response will not be handed back, free its connection. */
  private releaseLastResponse<T>(call: CallState<T>): void {
    call.lastResponse?.body?.cancel().catch(() => undefined);
    call.lastResponse = undefined;
  }

  private callError<T>(call: CallState<T>, message: string, cause?: unknown): GatewayCallError {
    const attempts = [...call.attempts];
    const last = attempts.length - 1;
    if (call.lastResponse !== undefined && last >= 0)
      attempts[last] = { ...attempts[last], response: call.lastResponse };
    const summary = attempts.map(
      (a) => `${a.instance.businessId}: ${a.outcome}${a.statusCode ? ` ${a.statusCode}` : ''}`,
    );
    return new GatewayCallError(
      `${call.apiIdentifier}: ${message}${summary.length ? ` (${summary.join('; ')})` : ''}`,
      attempts,
      cause,
    );
  }
}

interface AttemptBase<T> {
  readonly call: CallState<T>;
  readonly selection: Selection;
  readonly number: number;
  readonly latencyMs: number;
  readonly callTimestamp: number;
}

/** The report fields of a classified failure. */
function reportFields(classified: Classified): Partial<AttemptReport> {
  return {
    ...(classified.statusCode === undefined ? {} : { statusCode: classified.statusCode }),
    ...(classified.retryAfterMs === undefined ? {} : { retryAfterMs: classified.retryAfterMs }),
    ...(classified.errorMessage === undefined ? {} : { errorMessage: classified.errorMessage }),
    ...(classified.errorType === undefined ? {} : { errorType: classified.errorType }),
  };
}

/** The instance's own `routingParams.timeoutMs`, when it declares one. */
function routingTimeout(instance: SelectedInstance): number | undefined {
  const value = (instance.routingParams as Record<string, unknown> | undefined)?.timeoutMs;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/** The caller's usage mapping; a mapping that fails costs the report its usage, never the call. */
async function usageOf<T>(usage: CallOptions<T>['usage'], value: T): Promise<Usage | undefined> {
  if (usage === undefined) return undefined;
  try {
    return await usage(value);
  } catch {
    return undefined;
  }
}

/** Options without their `undefined` entries, so they do not hide the client's defaults. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

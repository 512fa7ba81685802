/**
 * Mock backends: in-process HTTP servers on 127.0.0.1 whose behaviour follows a script over
 * scenario time; and the client side of a call to one (with the caller's own timeout).
 */
import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../test/utils/mulberry32';
import type { Attempt, BackendSpec, Behaviour, Outcome } from './types';

const DEFAULT_LATENCY_MS = 20;
const LATENCY_SIGMA = 0.3;

/** The phase in force at scenario time `tS` (healthy before the first). */
export function behaviourAt(spec: BackendSpec, tS: number): Behaviour {
  let current: Behaviour = {};
  for (const phase of spec.script) if (phase.fromS <= tS) current = phase.behaviour;
  return current;
}

/** Follow the script at least this often, and at each phase boundary in between. */
const FOLLOW_MS = 20;

/** Started backends by URL: a call to one asks it whether a scripted refusal is due. */
const running = new Map<string, MockBackend>();

export class MockBackend {
  private server?: Server;
  private port = 0;
  private readonly random: () => number;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Scripted refusals already dealt (`spec.refusals`). */
  private refused = 0;

  constructor(
    readonly spec: BackendSpec,
    seed: number,
    private readonly clock: () => number,
  ) {
    this.random = mulberry32(seed);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens (port picked once, kept across outages) and follows the script until `stop()`. */
  async start(): Promise<void> {
    await this.listen();
    running.set(this.url, this);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    running.delete(this.url);
    await this.close();
  }

  /**
   * Whether the call starting now is one of the scripted refusals: each `refusals` entry refuses
   * the first `calls` calls from its instant on, so a caller meets exactly that many.
   */
  takeRefusal(): boolean {
    const nowS = this.clock() / 1000;
    const due = (this.spec.refusals ?? []).reduce((n, r) => n + (r.atS <= nowS ? r.calls : 0), 0);
    if (this.refused >= due) return false;
    this.refused++;
    return true;
  }

  // Timed to the phase boundaries (not only every FOLLOW_MS): each policy calls its own copy of the
  // backend, and the copies must change state at the same instant.
  private schedule(): void {
    if (this.stopped) return;
    const nowMs = this.clock();
    const next = this.spec.script.map((p) => p.fromS * 1000).find((ms) => ms > nowMs);
    const wait = next === undefined ? FOLLOW_MS : Math.min(FOLLOW_MS, next - nowMs);
    this.timer = setTimeout(() => void this.follow().finally(() => this.schedule()), wait);
  }

  private async follow(): Promise<void> {
    const down = behaviourAt(this.spec, this.clock() / 1000).down === true;
    if (down && this.server) await this.close();
    else if (!down && !this.server && !this.stopped) await this.listen();
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => this.answer(req, res));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    return closed;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const b = behaviourAt(this.spec, this.clock() / 1000);
    const z = Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
    const total = (b.latencyMs ?? DEFAULT_LATENCY_MS) * Math.exp(LATENCY_SIGMA * z);
    const roll = this.random();
    let status = 200;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (b.rateLimited) {
      status = 429;
      headers['retry-after'] = String(Math.max(1, Math.ceil(b.rateLimited.retryAfterS)));
    } else if (roll < (b.errorRate ?? 0)) status = b.errorStatus ?? 500;
    else if (roll < (b.errorRate ?? 0) + (b.clientErrorRate ?? 0)) status = 400;
    const body = JSON.stringify({ backend: this.spec.businessId, status });
    const firstByte = b.firstByteMs ?? 0;
    const send = (): void => {
      if (res.destroyed) return;
      res.writeHead(status, headers);
      setTimeout(() => res.end(body), Math.max(0, total - firstByte));
    };
    if (firstByte > 0) setTimeout(send, firstByte);
    else setTimeout(() => (res.destroyed ? undefined : res.writeHead(status, headers).end(body)), total);
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Remaining seconds of a Retry-After header (seconds or an HTTP date), in ms. */
function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.round(seconds * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function outcomeOf(status: number): Outcome {
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'server-error';
  if (status >= 400) return 'client-error';
  return 'ok';
}

/**
 * One call to a backend: never rejects; the outcome says what happened. A scripted refusal
 * (`BackendSpec.refusals`) ends it at once as `refused`, as a refused connection does.
 */
export function callBackend(options: {
  url: string;
  businessId: string;
  timeoutMs: number;
  atMs: number;
}): Promise<Attempt> {
  if (running.get(options.url.replace(/\/+$/, ''))?.takeRefusal())
    return Promise.resolve({ businessId: options.businessId, atMs: options.atMs, durationMs: 0, outcome: 'refused' });
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Outcome, extra: Partial<Attempt> = {}): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const durationMs = Math.round(performance.now() - started);
      resolve({ businessId: options.businessId, atMs: options.atMs, durationMs, outcome, ...extra });
    };
    const req = request(`${options.url}/v1/call`, { method: 'POST', agent }, (res) => {
      const statusCode = res.statusCode ?? 0;
      res.resume();
      res.on('end', () =>
        finish(outcomeOf(statusCode), { statusCode, retryAfterMs: retryAfterMs(res.headers['retry-after']) }),
      );
      res.on('error', () => finish('reset'));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED' ? 'refused' : 'reset'));
    req.end('{}');
  });
}

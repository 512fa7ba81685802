/**
 * The hostile tenant of the noisy-neighbour bench, as a child process of abuse-bench.ts (forked
 * with an IPC channel), so that its client work never runs on the event loop that times the
 * victim's requests.
 *
 * Protocol: the parent sends `attack` (a {@link HostileConfig}); the driver starts every stream of
 * the attacks named there, each a closed loop (autocannon: a new request as soon as the previous
 * answer arrived, on each connection), and says `ready` once every stream has had an answer (or
 * after 15 s, naming the late ones). `measure` starts the measured window (the figures before it
 * are dropped); `stop` ends every stream and the driver answers `figures` and exits.
 *
 * Streams:
 * - explain: `--explain-connections` selects with `explain: true` over the 5000 wide instances;
 * - batch: one connection cycling `POST /api/instances/batch` of `batchSize` fat new instances,
 *   the same batch again (all existing: validated and planned, nothing written), then
 *   `DELETE /api/instances/batch` of them;
 * - login: `loginConnections` wrong-password logins, usernames in turn (the admin's, its variants,
 *   unknown ones); a share of them from a fresh `X-Forwarded-For` address each (a botnet behind
 *   the trusted proxy: per-address limits do not stop it, the hashing bound must);
 * - metrics: `scrapers` connections on `GET /metrics`, half with the metrics token, half without.
 */
import { randomInt } from 'node:crypto';
import autocannon from 'autocannon';
import { API_TYPE } from '../http/seed';
import { SELECT_PATH } from '../http/scenarios';
import {
  type Attack,
  type FromDriver,
  type HostileConfig,
  type HostileFigures,
  type StreamFigures,
  type ToDriver,
  WIDE_IDENTIFIER,
  fatInstance,
} from './attacks';

type Req = autocannon.Request;

const READY_TIMEOUT_MS = 15_000;
/** Long enough never to end by itself: `stop` ends it. */
const FOREVER_S = 24 * 3600;
const ERROR_CODE = /"error":"([A-Z_]+)"/;

/** One autocannon instance and what it got while measuring. */
class Stream {
  private latencies: number[] = [];
  private bytes = 0;
  private mix: Record<string, number> = {};
  private errors = 0;
  private measuring = false;
  answered = false;
  instance?: autocannon.Instance;
  private done?: Promise<void>;

  constructor(
    readonly name: string,
    readonly attack: Attack,
    readonly connections: number,
  ) {}

  start(url: string, requests: Req[], timeoutS = 10): void {
    const classified = requests.map((request) => ({
      ...request,
      onResponse: (status: number, body: string) => {
        if (!this.measuring) return;
        const code = status < 300 ? '' : ` ${ERROR_CODE.exec(body)?.[1] ?? '?'}`;
        const queue =
          code === ' LOGIN_THROTTLED' && body.includes('at once')
            ? ' (hash queue full)'
            : code === ' LOGIN_THROTTLED' && body.includes('checks on this node are spent')
              ? ' (hash rate spent)'
              : '';
        const key = `${status}${code}${queue}`;
        this.mix[key] = (this.mix[key] ?? 0) + 1;
      },
    }));
    this.done = new Promise<void>((resolve) => {
      this.instance = autocannon(
        { url, connections: this.connections, duration: FOREVER_S, timeout: timeoutS, requests: classified },
        () => resolve(),
      );
    });
    this.instance?.on('response', (_client, _status, resBytes, responseTime) => {
      this.answered = true;
      if (!this.measuring) return;
      this.latencies.push(responseTime);
      this.bytes += resBytes;
    });
    this.instance?.on('reqError', () => {
      if (this.measuring) this.errors++;
    });
  }

  measure(): void {
    this.latencies = [];
    this.bytes = 0;
    this.mix = {};
    this.errors = 0;
    this.measuring = true;
  }

  async stop(): Promise<void> {
    this.instance?.stop();
    await this.done;
  }

  figures(windowS: number): StreamFigures {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number =>
      sorted.length === 0
        ? 0
        : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10;
    return {
      name: this.name,
      attack: this.attack,
      connections: this.connections,
      responses: sorted.length,
      reqPerSec: Math.round(sorted.length / windowS),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: sorted.length === 0 ? 0 : Math.round(sorted[sorted.length - 1] * 10) / 10,
      meanBytes: sorted.length === 0 ? 0 : Math.round(this.bytes / sorted.length),
      statusMix: this.mix,
      errors: this.errors,
    };
  }
}

const json = (headers: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  ...headers,
});

function explainStream(config: HostileConfig): { stream: Stream; requests: Req[] } {
  const body = JSON.stringify({ apiIdentifier: WIDE_IDENTIFIER, apiType: API_TYPE, explain: true });
  return {
    stream: new Stream('explain select over the wide project', 'explain', config.explainConnections),
    requests: [{ method: 'POST', path: SELECT_PATH, headers: json({ 'api-key': config.wideKey }), body }],
  };
}

function batchStream(config: HostileConfig): { stream: Stream; requests: Req[] } {
  const instances = Array.from({ length: config.batchSize }, (_, n) => fatInstance(n));
  const create = JSON.stringify({ instances });
  const remove = JSON.stringify({
    instances: instances.map((instance) => ({ apiType: instance.apiType, businessId: instance.businessId })),
  });
  const headers = json({ 'api-key': config.batchKey });
  return {
    stream: new Stream(`batch of ${config.batchSize}: register, again, delete`, 'batch', 1),
    requests: [
      { method: 'POST', path: '/api/instances/batch', headers, body: create },
      { method: 'POST', path: '/api/instances/batch', headers, body: create },
      { method: 'DELETE', path: '/api/instances/batch', headers, body: remove },
    ],
  };
}

function loginStream(config: HostileConfig): { stream: Stream; requests: Req[] } {
  let turn = 0;
  const request: Req = {
    method: 'POST',
    path: '/api/admin/auth/login',
    setupRequest: (req) => {
      const username = config.usernames[turn++ % config.usernames.length];
      const spoofed = Math.random() < config.spoofShare;
      const address = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
      return {
        ...req,
        headers: json(spoofed ? { 'x-forwarded-for': address } : {}),
        body: JSON.stringify({ username, password: `guess-${randomInt(1e9)}` }),
      };
    },
  };
  return {
    stream: new Stream('wrong-password logins', 'login', config.loginConnections),
    requests: [request],
  };
}

function metricsStreams(config: HostileConfig): { stream: Stream; requests: Req[] }[] {
  const withToken = Math.ceil(config.scrapers / 2);
  const without = config.scrapers - withToken;
  const scrape = (headers: Record<string, string>): Req[] => [{ method: 'GET', path: '/metrics', headers }];
  return [
    {
      stream: new Stream('/metrics with the token', 'metrics', withToken),
      requests: scrape({ authorization: `Bearer ${config.metricsToken}` }),
    },
    ...(without > 0
      ? [{ stream: new Stream('/metrics without credentials', 'metrics', without), requests: scrape({}) }]
      : []),
  ];
}

function streamsOf(config: HostileConfig): { stream: Stream; requests: Req[] }[] {
  return config.attacks.flatMap((attack) => {
    switch (attack) {
      case 'explain':
        return [explainStream(config)];
      case 'batch':
        return [batchStream(config)];
      case 'login':
        return [loginStream(config)];
      case 'metrics':
        return metricsStreams(config);
    }
  });
}

/** Sends `message` to the parent; `then` runs once it was handed over. */
const send = (message: FromDriver, then?: () => void): void => void process.send?.(message, undefined, {}, then);

async function waitAnswered(streams: readonly Stream[]): Promise<string[]> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && streams.some((stream) => !stream.answered)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return streams.filter((stream) => !stream.answered).map((stream) => stream.name);
}

function main(): void {
  let streams: Stream[] = [];
  let since = 0;
  let cpu = process.cpuUsage();
  process.on('message', (message: ToDriver) => {
    switch (message.type) {
      case 'attack': {
        const planned = streamsOf(message.config);
        streams = planned.map((plan) => plan.stream);
        for (const plan of planned) plan.stream.start(message.config.url, plan.requests, 30);
        void waitAnswered(streams).then((late) => send({ type: 'ready', late }));
        break;
      }
      case 'measure':
        for (const stream of streams) stream.measure();
        since = performance.now();
        cpu = process.cpuUsage();
        break;
      case 'stop': {
        const windowS = since === 0 ? 0 : (performance.now() - since) / 1000;
        const used = process.cpuUsage(cpu);
        const figures: HostileFigures = {
          windowS: Math.round(windowS * 10) / 10,
          driverCpuPct: windowS > 0 ? Math.round((used.user + used.system) / 10_000 / windowS) : 0,
          streams: streams.map((stream) => stream.figures(windowS || 1)),
        };
        void Promise.all(streams.map((stream) => stream.stop())).then(() => {
          send({ type: 'figures', figures }, () => process.disconnect?.());
        });
        break;
      }
    }
  });
  // The parent went away: nothing to report to.
  process.on('disconnect', () => process.exit(0));
}

main();

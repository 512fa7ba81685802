/**
 * The autocannon scenarios: what each connection sends, and one summary row per run.
 *
 * Request lists are rotated per connection (setupClient) so that at any moment the connections
 * spread over all identifiers, instances and API keys (the throttle is per key). Static requests
 * are pre-encoded by autocannon; report bodies are built per request (fresh callTimestamp).
 */
import autocannon from 'autocannon';
import { type Fixture, type SeededInstance, selectBody } from './seed';

export const SELECT_PATH = '/api/gateway/select-instance';
export const REPORT_PATH = '/api/gateway/report-result';
const FAILURE_RATE = 0.05;
const SAMPLES_KEPT = 5;

export interface LoadOptions {
  readonly url: string;
  /**
   * Several servers (cluster mode): autocannon opens connection i to `urls[i % urls.length]` and
   * keeps it there, so each node gets an equal share of the connections. `url` is then unused.
   */
  readonly urls?: readonly string[];
  readonly connections: number;
  readonly duration: number;
  /** Give each connection the request list rotated by its index (not for request sequences). */
  readonly rotate?: boolean;
}

export interface ScenarioRow {
  readonly scenario: string;
  readonly reqPerSec: number;
  readonly total: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
  /** The first few non-2xx response bodies, to say why. */
  readonly failures: readonly string[];
  readonly durationS: number;
  readonly notes: Record<string, number>;
  /** Responses completed in each second of the run (warm-up trends, stalls). */
  readonly perSecond: readonly number[];
  /** The server child's CPU use during the run: % of one core, and µs per response. */
  readonly serverCpuPct?: number;
  readonly serverCpuUsPerReq?: number;
  /** The load generator's (this process's) CPU use, and everything else's, in % of one core. */
  readonly loaderCpuPct?: number;
  readonly otherCpuPct?: number;
  /** CPU the hypervisor gave other guests while this run wanted it, % of one core. */
  readonly stealCpuPct?: number;
  /**
   * V8 heap bytes the server child allocated per response during the run (alloc-probe.ts), when
   * it was started with the probe (single node only: the gateway and the bare baselines).
   */
  readonly heapBytesPerReq?: number;
  /** 1-minute load average when the run started. */
  readonly loadAvg1m?: number;
  /** With `urls`: the responses each of them sent, in the order of `urls`. */
  readonly responsesPerUrl?: readonly number[];
  /** Cluster mode: the redis-server's CPU use during the run (when it runs on this machine). */
  readonly redisCpuPct?: number;
  readonly redisCpuUsPerReq?: number;
}

type Req = autocannon.Request;
interface Target {
  readonly instance: SeededInstance;
  readonly key: string;
}

let running: autocannon.Instance | undefined;

/** Stops the load in flight (SIGINT); its run then resolves with what it measured. */
export function stopLoad(): void {
  running?.stop();
}

const headers = (key: string): Req['headers'] => ({ 'content-type': 'application/json', 'api-key': key });
const rotate = <T>(items: readonly T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length]);

function reportBody(target: SeededInstance, selectionId?: string): string {
  const success = Math.random() >= FAILURE_RATE;
  return JSON.stringify({
    instanceId: target.id,
    businessId: target.businessId,
    success,
    latencyMs: 50 + Math.floor(Math.random() * 451),
    callTimestamp: Date.now(),
    ...(success ? {} : { errorType: 'SERVER_ERROR', errorMessage: 'bench: simulated failure' }),
    ...(selectionId ? { selectionId } : {}),
  });
}

/** The 15 (identifier, key) select requests, keys alternating. */
export function selectRequests(fixture: Fixture): Req[] {
  return fixture.identifiers.flatMap((identifier) =>
    fixture.tenants.map((tenant) => ({
      method: 'POST' as const,
      path: SELECT_PATH,
      headers: headers(tenant.key),
      body: selectBody(identifier),
    })),
  );
}

/** One report per instance of every project, keys alternating; bodies built per request. */
export function reportRequests(fixture: Fixture): Req[] {
  const perTenant = Math.max(...fixture.tenants.map((t) => t.instances.length));
  const targets: Target[] = [];
  for (let i = 0; i < perTenant; i++) {
    for (const tenant of fixture.tenants) {
      if (i < tenant.instances.length) targets.push({ instance: tenant.instances[i], key: tenant.key });
    }
  }
  return targets.map((target) => ({
    method: 'POST' as const,
    path: REPORT_PATH,
    headers: headers(target.key),
    setupRequest: (request: Req) => ({ ...request, body: reportBody(target.instance) }),
  }));
}

interface MixContext {
  tenant?: number;
  selected?: SeededInstance & { selectionId?: string };
}

/**
 * Select, then report the instance it chose with its selectionId, with the same key. If the
 * select failed (counted as non-2xx already) the report goes to a random instance of that
 * project, without a selectionId, and `reportsWithoutSelection` counts it.
 */
export function mixRequests(fixture: Fixture, notes: Record<string, number>): Req[] {
  const combos = fixture.identifiers.flatMap((identifier) =>
    fixture.tenants.map((_, tenant) => ({ identifier, tenant })),
  );
  let cursor = 0;
  notes.reportsWithoutSelection = 0;
  const select: Req = {
    method: 'POST',
    path: SELECT_PATH,
    setupRequest: (request, context) => {
      const combo = combos[cursor++ % combos.length];
      (context as MixContext).tenant = combo.tenant;
      const key = fixture.tenants[combo.tenant].key;
      return { ...request, headers: headers(key), body: selectBody(combo.identifier) };
    },
    onResponse: (status, body, context) => {
      if (status !== 200) return;
      const data = (JSON.parse(body) as { data: { id: string; businessId: string; selectionId?: string } }).data;
      (context as MixContext).selected = {
        id: data.id,
        businessId: data.businessId,
        apiIdentifier: '',
        selectionId: data.selectionId,
      };
    },
  };
  const report: Req = {
    method: 'POST',
    path: REPORT_PATH,
    setupRequest: (request, context) => {
      const mix = context as MixContext;
      const tenant = fixture.tenants[mix.tenant ?? 0];
      let target = mix.selected;
      if (!target) {
        notes.reportsWithoutSelection++;
        target = tenant.instances[Math.floor(Math.random() * tenant.instances.length)];
      }
      return { ...request, headers: headers(tenant.key), body: reportBody(target, target.selectionId) };
    },
  };
  return [select, report];
}

/** Runs autocannon; with `rotate`, each connection gets `requests` rotated by its index. */
export function runLoad(
  scenario: string,
  requests: readonly Req[],
  options: LoadOptions,
  notes: Record<string, number> = {},
): Promise<ScenarioRow> {
  const failures: string[] = [];
  const watched = requests.map((request) => ({
    ...request,
    onResponse: (status: number, body: string, context: object, responseHeaders: Req['headers']) => {
      if (status >= 300 && failures.length < SAMPLES_KEPT) failures.push(`${status} ${body.slice(0, 300)}`);
      if (typeof request.onResponse === 'function') request.onResponse(status, body, context, responseHeaders);
    },
  }));
  let client = 0;
  const perSecond: number[] = [];
  // autocannon gives a client its url's parsed options: the port tells the nodes apart.
  const ports = (options.urls ?? []).map((url) => new URL(url).port);
  const perUrl = ports.map(() => 0);
  let count = 0;
  const second = setInterval(() => {
    perSecond.push(count);
    count = 0;
  }, 1000);
  return new Promise<ScenarioRow>((resolve, reject) => {
    running = autocannon(
      {
        // autocannon ≥ 7 takes an array of urls (connection i → urls[i % n]); its types say string.
        url: options.urls ? (options.urls as unknown as string) : options.url,
        connections: options.connections,
        duration: options.duration,
        requests: watched,
        setupClient: (c) => {
          if (options.rotate) c.setRequests(rotate(watched, client++ % watched.length));
        },
      },
      (error: Error | null, result: autocannon.Result) => {
        running = undefined;
        clearInterval(second);
        if (error) return reject(error);
        const row = { ...summarise(scenario, result, failures, notes), perSecond };
        resolve(ports.length > 0 ? { ...row, responsesPerUrl: perUrl } : row);
      },
    );
    if (ports.length === 0) running.on('response', () => count++);
    else {
      running.on('response', (c) => {
        count++;
        const at = ports.indexOf(String((c as unknown as { opts: { port: string | number } }).opts.port));
        if (at >= 0) perUrl[at]++;
      });
    }
  });
}

function summarise(
  scenario: string,
  r: autocannon.Result,
  failures: string[],
  notes: object,
): Omit<ScenarioRow, 'perSecond'> {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    scenario,
    reqPerSec: Math.round(r.requests.mean),
    total: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    failures,
    durationS: r.duration,
    notes: { ...notes, resets: r.resets, mismatches: r.mismatches },
  };
}

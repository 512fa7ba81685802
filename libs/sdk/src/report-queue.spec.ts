import { eventually } from '../../../test/utils/eventually';
import { GatewayRequestError } from './errors';
import { ReportQueue } from './report-queue';
import { type LocalServer, json, listen, ok, refusal } from './testing/servers';
import { Transport } from './transport';
import type { AttemptReport } from './types';

function report(n: number, instanceId = 'i'.repeat(32)): AttemptReport {
  return { instanceId, businessId: 'b', success: true, latencyMs: n, callTimestamp: 1_767_225_600_000 + n };
}

/** A gateway's report-results route whose answers a test scripts; every batch received is recorded. */
async function reportRoute(answer: (results: AttemptReport[]) => [number, unknown]) {
  const batches: AttemptReport[][] = [];
  const server = await listen((request, res) => {
    const results = (JSON.parse(request.body) as { results: AttemptReport[] }).results;
    batches.push(results);
    const [status, body] = answer(results);
    json(res, status, body);
  });
  const transport = new Transport({ baseUrl: server.url, apiKey: 'k', timeoutMs: 2000 });
  const send = (results: readonly AttemptReport[]) =>
    transport.request<{ counted?: number; duplicates?: number } | undefined>('POST', '/api/gateway/report-results', {
      body: { results },
    });
  return { server, batches, send };
}

const counted = (results: AttemptReport[]): [number, unknown] => [200, ok({ counted: results.length, duplicates: 0 })];

describe('ReportQueue', () => {
  let server: LocalServer | undefined;
  afterEach(() => server?.close());

  it('sends a full batch at once and the rest after the interval, never blocking push()', async () => {
    const route = await reportRoute(counted);
    server = route.server;
    const queue = new ReportQueue(route.send, { batchSize: 3, intervalMs: 150 });
    for (let n = 0; n < 4; n++) queue.push(report(n));
    expect(route.batches).toHaveLength(0); // push() returned before anything was sent
    await eventually(() => expect(route.batches.map((b) => b.length)).toEqual([3]), { timeoutMs: 1000 });
    const sentAt = Date.now();
    await eventually(() => expect(route.batches.map((b) => b.length)).toEqual([3, 1]), { timeoutMs: 2000 });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(100);
    await eventually(() => expect(queue.stats()).toMatchObject({ queued: 0, sent: 4, counted: 4, dropped: 0 }), {
      timeoutMs: 1000,
    });
  });

  it('by default sends a report at once, and gathers those that come while a batch is in flight', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const route = await reportRoute(counted);
    server = route.server;
    let first = true;
    const queue = new ReportQueue(async (results) => {
      if (first) {
        first = false;
        const sent = route.send(results);
        await held; // the first batch stays in flight until the test lets it go
        return sent;
      }
      return route.send(results);
    });
    queue.push(report(0));
    await eventually(() => expect(route.batches.map((b) => b.length)).toEqual([1]), { timeoutMs: 1000 });
    for (let n = 1; n <= 5; n++) queue.push(report(n));
    release?.();
    await eventually(() => expect(route.batches.map((b) => b.length)).toEqual([1, 5]), { timeoutMs: 1000 });
  });

  it('keeps reports while the gateway fails and delivers them, in order, once it answers', async () => {
    let failing = true;
    const route = await reportRoute((results) => (failing ? [503, refusal(503, 'NOT_READY')] : counted(results)));
    server = route.server;
    const queue = new ReportQueue(route.send, { batchSize: 10, intervalMs: 10, maxRetryDelayMs: 300 });
    queue.push(report(1));
    queue.push(report(2));
    // Retried after a backoff (not on every tick of the 10 ms interval), the reports kept meanwhile.
    await eventually(() => expect(queue.stats().retries).toBeGreaterThanOrEqual(2), { timeoutMs: 3000 });
    expect(route.batches.length).toBeLessThanOrEqual(queue.stats().retries + 1);
    await eventually(() => expect(queue.stats()).toMatchObject({ queued: 2, sent: 0 }), { timeoutMs: 1000 });
    await expect(queue.flush()).rejects.toBeInstanceOf(GatewayRequestError);
    failing = false;
    queue.push(report(3));
    await eventually(() => expect(queue.stats()).toMatchObject({ queued: 0, sent: 3 }), { timeoutMs: 3000 });
    expect(route.batches.at(-1)!.map((r) => r.latencyMs)).toEqual([1, 2, 3]);
    expect(queue.stats().retries).toBeGreaterThanOrEqual(2);
  });

  it('splits a refused batch until only the refused report is left out', async () => {
    const deleted = 'd'.repeat(32);
    const route = await reportRoute((results) =>
      results.some((r) => r.instanceId === deleted) ? [404, refusal(404, 'INSTANCE_NOT_FOUND')] : counted(results),
    );
    server = route.server;
    const refused: AttemptReport[] = [];
    const queue = new ReportQueue(route.send, { batchSize: 100, intervalMs: 10 }, (_error, reports) =>
      refused.push(...reports),
    );
    for (let n = 0; n < 6; n++) queue.push(report(n, n === 4 ? deleted : undefined));
    await queue.flush();
    expect(queue.stats()).toMatchObject({ sent: 5, rejected: 1, queued: 0 });
    expect(refused.map((r) => r.instanceId)).toEqual([deleted]);
  });

  it('counts what the gateway says it counted (duplicates of one selection are not)', async () => {
    const route = await reportRoute((results) => [200, ok({ counted: results.length - 1, duplicates: 1 })]);
    server = route.server;
    const queue = new ReportQueue(route.send, { batchSize: 100, intervalMs: 10 });
    queue.push(report(1));
    queue.push(report(2));
    await queue.flush();
    expect(queue.stats()).toMatchObject({ sent: 2, counted: 1, duplicates: 1 });
  });

  it('holds at most maxQueued reports, dropping the oldest', async () => {
    const route = await reportRoute(() => [503, refusal(503, 'NOT_READY')]);
    server = route.server;
    const dropped: AttemptReport[] = [];
    const queue = new ReportQueue(route.send, { batchSize: 100, intervalMs: 60_000, maxQueued: 3 }, (_e, reports) =>
      dropped.push(...reports),
    );
    for (let n = 0; n < 5; n++) queue.push(report(n));
    expect(queue.stats()).toMatchObject({ queued: 3, dropped: 2 });
    expect(dropped.map((r) => r.latencyMs)).toEqual([0, 1]);
    await queue.close(100);
    expect(queue.stats()).toMatchObject({ queued: 0, dropped: 5, sent: 0 });
  });

  it('close() delivers what is queued, and refuses reports afterwards', async () => {
    const route = await reportRoute(counted);
    server = route.server;
    const queue = new ReportQueue(route.send, { batchSize: 100, intervalMs: 60_000 });
    queue.push(report(1));
    await queue.close(1000);
    expect(route.batches).toEqual([[report(1)]]);
    queue.push(report(2));
    expect(queue.stats()).toMatchObject({ sent: 1, dropped: 1 });
  });
});

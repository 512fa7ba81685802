/**
 * Local HTTP servers for the SDK's specs: backends that answer as a test scripts them, and a
 * scripted gateway for the failures a real one does not produce on demand (5xx, 429, going away).
 * Not part of the package (excluded from its build).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { components } from '../generated/schema';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Handler = (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Replaces the handler (a backend that starts failing). */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port, or `port`) and records every request. */
export async function listen(handler: Handler, port = 0): Promise<LocalServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      Promise.resolve(current(recorded, res)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    requests,
    handle: (next) => (current = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers JSON. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = await listen(() => undefined);
  await server.close();
  return server.port;
}

type Selected = components['schemas']['SelectedInstanceDto'] & { endpoint: string | null };

/** A select answer as the gateway gives it. */
export function selected(fields: Partial<Selected> & Pick<Selected, 'id' | 'businessId'>): Selected {
  return {
    apiType: 'MODEL',
    routingParams: {},
    status: 'ACTIVE',
    metadata: null,
    endpoint: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    projectId: 'p'.repeat(32),
    userId: null,
    apiIdentifier: 'gpt-4o',
    selectionId: `sel-${Math.random().toString(16).slice(2)}`,
    strategy: 'smart',
    tier: 0,
    degraded: false,
    fallbackUsed: false,
    fallbackFrom: null,
    affinityBound: false,
    ...fields,
  };
}

/** The gateway's success envelope. */
export function ok(data?: unknown): Record<string, unknown> {
  return { code: 200, message: 'success', ...(data === undefined ? {} : { data }), timestamp: Date.now() };
}

/** The gateway's error envelope. */
export function refusal(status: number, error: string, details?: unknown): Record<string, unknown> {
  return {
    code: status,
    message: error.toLowerCase(),
    error,
    details,
    requestId: 'r'.repeat(32),
    timestamp: Date.now(),
  };
}

/**
 * A scripted gateway: `select` answers select-instance, `report` answers report-results; every
 * request is recorded, every report kept.
 */
export async function fakeGateway(
  script: {
    select: (body: Record<string, unknown>, res: ServerResponse) => void | Promise<void>;
    report?: (results: Record<string, unknown>[], res: ServerResponse) => void | Promise<void>;
  },
  port = 0,
): Promise<LocalServer & { reports: Record<string, unknown>[]; selects: Record<string, unknown>[] }> {
  const reports: Record<string, unknown>[] = [];
  const selects: Record<string, unknown>[] = [];
  const server = await listen(async (request, res) => {
    if (request.url === '/api/gateway/select-instance') {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      selects.push(body);
      await script.select(body, res);
      return;
    }
    if (request.url === '/api/gateway/report-results') {
      const results = (JSON.parse(request.body) as { results: Record<string, unknown>[] }).results;
      if (script.report) {
        await script.report(results, res);
        if (res.statusCode === 200) reports.push(...results);
        return;
      }
      reports.push(...results);
      json(res, 200, ok({ counted: results.length, duplicates: 0 }));
      return;
    }
    json(res, 404, refusal(404, 'ROUTE_NOT_FOUND'));
  }, port);
  return Object.assign(server, { reports, selects });
}

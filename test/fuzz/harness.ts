import { connect, type AddressInfo } from 'node:net';
import { LogCapture } from '../utils/log-capture';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { OpenAPIObject } from '@nestjs/swagger';
import { MAX_PARAM_LENGTH } from '../../src/app-setup';
import { AdminTokens } from '../../src/auth/admin-tokens';
import { ERROR_STATUS, type ErrorCode } from '../../src/common/error-codes';
import { UNROUTED_CODES, documentedErrorCodes, errorComponentName } from '../../src/common/openapi-errors';
import { buildOpenApiDocument } from '../../src/common/swagger';
import { MinuteAggregator } from '../../src/minute-metrics/minute-aggregator';
import { AdminUsersService } from '../../src/tenancy/admin-users.service';
import { ApiKeysService } from '../../src/tenancy/api-keys.service';
import { ApiKeyQueryDto } from '../../src/tenancy/dto/api-key.dto';
import { createProject, type TestProject } from '../utils/fixtures';
import { registerInstances } from '../utils/hot-path';
import { createTestApp, TEST_ADMIN, type TestApp, type TestAppOptions } from '../utils/test-app';
import {
  type ApiDocument,
  type AuthMode,
  type FuzzRequest,
  type Operation,
  type Pools,
  operationsOf,
} from './arbitraries';

/**
 * What the fuzz specs share: the run's seed and size, an app listening on a real port with known
 * fixtures to aim at, the invariant every answer must hold, and the log check.
 */

/** The seed of every property: fixed, so CI replays the same requests; `FUZZ_SEED` explores others. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_260_115);

/** Runs per property: `FUZZ_RUNS` overrides every spec's default (go deeper locally). */
export function fuzzRuns(defaultRuns: number): number {
  const runs = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : defaultRuns;
}

/** A property that fails shrinks over HTTP: give it room (a passing one takes well under a second). */
export const FUZZ_TIMEOUT_MS = 180_000;

/** Every log line the app writes (one sink per test file: the logger keeps the first). */
export { LogCapture };

/** The fixtures of one property: fresh for each, so no property depends on what another deleted. */
export interface Fixtures {
  /** The tenant the fuzzer acts as (never in a pool, so no admin route can disable it). */
  readonly tenant: TestProject;
  /** Another tenant, whose ids are in the pools: cross-tenant ids must be 404, never more. */
  readonly victim: TestProject;
  readonly pools: Pools;
}

/** The password of the fuzz viewer, pooled so that some logins succeed. */
const VIEWER = { username: 'fuzz-viewer', password: 'viewer-fuzz-password' } as const;
const VICTIM_ADMIN = { username: 'fuzz-victim', password: 'victim-fuzz-password' } as const;

/** An app under fuzz, listening on a real port, with an admin that no fuzzed request can lock out. */
export class FuzzTarget {
  private current?: Fixtures;
  private generation = 0;
  /** Set when a fuzzed `PUT /api/admin/auth/password` succeeded: the next refresh puts the password back. */
  passwordChanged = false;

  private constructor(
    readonly gateway: TestApp,
    readonly port: number,
    readonly document: ApiDocument,
    private readonly adminId: string,
    private readonly capture: LogCapture | undefined,
  ) {}

  /** Boots the app (see {@link createTestApp}) on a port; call {@link refresh} before each property. */
  static async start(options: TestAppOptions): Promise<FuzzTarget> {
    const gateway = await createTestApp(options);
    try {
      const server = gateway.app.getHttpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const admin = (await gateway.app.get(AdminUsersService).list()).find(
        (user) => user.username === TEST_ADMIN.username,
      );
      if (!admin) throw new Error('the bootstrap admin is missing');
      const document = buildOpenApiDocument(gateway.app) as unknown as ApiDocument;
      const capture = options.logDestination instanceof LogCapture ? options.logDestination : undefined;
      return new FuzzTarget(gateway, (server.address() as AddressInfo).port, document, admin.id, capture);
    } catch (error) {
      await gateway.close();
      throw error;
    }
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get fixtures(): Fixtures {
    if (!this.current) throw new Error('refresh() the fixtures first');
    return this.current;
  }

  /**
   * Fresh fixtures: two tenants with instances, the viewer and a victim admin (re-created if a
   * fuzzed request deleted them), and an hour later on the fake clock, so that the login
   * throttle and the rate windows a previous property filled are empty again.
   */
  async refresh(): Promise<Fixtures> {
    const { gateway } = this;
    gateway.clock.advance(3_600_000);
    const n = ++this.generation;
    const tenant = await createProject(gateway, `Fuzz tenant ${n}`);
    const victim = await createProject(gateway, `Fuzz victim ${n}`);
    const tenantIds = await registerInstances(gateway, tenant, [
      { apiIdentifier: 'model', apiType: 'MODEL', businessId: 'fuzz-a' },
      { apiIdentifier: 'model', apiType: 'MODEL', businessId: 'fuzz-b' },
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'fuzz-sms' },
    ]);
    const victimIds = await registerInstances(gateway, victim, [
      { apiIdentifier: 'model', apiType: 'MODEL', businessId: 'victim-a' },
    ]);
    if (this.passwordChanged) {
      await gateway.app.get(AdminUsersService).update(this.adminId, { password: TEST_ADMIN.password });
      this.passwordChanged = false;
    }
    const viewer = await this.ensureUser(VIEWER.username, VIEWER.password, 'viewer');
    const victimAdmin = await this.ensureUser(VICTIM_ADMIN.username, VICTIM_ADMIN.password, 'admin');
    const keys = await gateway.app
      .get(ApiKeysService)
      .list(Object.assign(new ApiKeyQueryDto(), { projectId: victim.id, page: 1, size: 200 }));
    const instanceIds = [...Object.values(tenantIds), ...Object.values(victimIds)];
    this.current = {
      tenant,
      victim,
      pools: {
        instanceId: instanceIds,
        projectId: [victim.id],
        apiKeyId: keys.items.map((key) => key.id),
        adminUserId: [viewer, victimAdmin],
        businessId: ['fuzz-a', 'fuzz-b', 'fuzz-sms', 'victim-a'],
        apiIdentifier: ['model', 'sms'],
        apiType: ['MODEL', 'SMS_SERVICE'],
        fallbackChain: [['model', 'sms']],
        username: [VIEWER.username, VICTIM_ADMIN.username, TEST_ADMIN.username],
        password: [VIEWER.password],
        currentPassword: [TEST_ADMIN.password],
        apiKey: [victim.apiKey, tenant.apiKey],
        callTimestamp: [gateway.clock.now()],
        strategy: ['smart', 'round-robin', 'least-busy', 'weighted-random'],
        // An instance without a userId is selected only by requests without one.
        userId: [null],
        page: [1, 2],
        size: [1, 20, 200],
      },
    };
    return this.current;
  }

  /** The log lines of one request (by its id), to show with a failure: the stack of a 5xx. */
  logsOf(requestId: string): string[] {
    if (!this.capture || requestId === '') return [];
    return this.capture.text
      .split('\n')
      .filter((line) => line.includes(requestId) && !line.includes('request completed'));
  }

  /** A fresh token of the acting admin (a fuzzed logout or password change revokes the older ones). */
  adminToken(): Promise<string> {
    return this.tokenOf(this.adminId);
  }

  async viewerToken(): Promise<string> {
    const viewer = (await this.gateway.app.get(AdminUsersService).list()).find(
      (user) => user.username === VIEWER.username,
    );
    return viewer ? this.tokenOf(viewer.id) : 'no-viewer';
  }

  private async tokenOf(id: string): Promise<string> {
    const snapshot = await this.gateway.app.get(AdminUsersService).snapshot(id);
    return snapshot ? (await this.gateway.app.get(AdminTokens).issue(snapshot)).accessToken : 'deleted-user';
  }

  private async ensureUser(username: string, password: string, role: 'admin' | 'viewer'): Promise<string> {
    const users = this.gateway.app.get(AdminUsersService);
    const existing = (await users.list()).find((user) => user.username === username);
    return (existing ?? (await users.create(username, password, role))).id;
  }
}

/** An answer as the fuzzer checks it. */
export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** The headers a request authenticates with, for an operation secured by `scheme`. */
async function authHeaders(
  target: FuzzTarget,
  scheme: string | undefined,
  mode: AuthMode,
): Promise<Record<string, string>> {
  const apiKey = { 'api-key': target.fixtures.tenant.apiKey };
  const bearer = async () => ({ authorization: `Bearer ${await target.adminToken()}` });
  switch (mode) {
    case 'none':
      return {};
    case 'garbage':
      return { 'api-key': 'gw_0000garbage', authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' };
    case 'viewer':
      return { authorization: `Bearer ${await target.viewerToken()}` };
    case 'crossed':
      return scheme === 'admin-jwt' ? apiKey : bearer();
    case 'valid':
      return scheme === 'admin-jwt' ? bearer() : scheme === 'api-key' ? apiKey : {};
  }
}

/** Sends a generated request over real HTTP (fetch, keep-alive) and reads the whole answer. */
export async function send(target: FuzzTarget, request: FuzzRequest): Promise<Answer> {
  const headers: Record<string, string> = await authHeaders(target, request.scheme, request.auth);
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${target.baseUrl}${request.url}`, {
    method: request.method,
    headers,
    body: request.body,
    redirect: 'manual',
  });
  if (res.status === 200 && request.method === 'PUT' && request.url.startsWith('/api/admin/auth/password')) {
    target.passwordChanged = true;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Answers by operation and status (`error` code included), printed at the end when `FUZZ_STATS=1`. */
const tally = new Map<string, Map<string, number>>();

/** Counts an answer for the `FUZZ_STATS` report: how much of the fuzz got past validation. */
export function countAnswer(operation: string, answer: Answer): void {
  if (process.env.FUZZ_STATS !== '1') return;
  let error = '';
  try {
    const body = JSON.parse(answer.text) as { error?: string; details?: unknown };
    const fields = Array.isArray(body.details) ? (body.details as { field?: string }[]).map((one) => one.field) : [];
    error = `${body.error ?? ''}${fields.length > 0 ? `(${fields.join(',')})` : ''}`;
  } catch {
    error = 'not JSON';
  }
  const key = `${answer.status}${error ? ` ${error}` : ''}`;
  const counts = tally.get(operation) ?? new Map<string, number>();
  counts.set(key, (counts.get(key) ?? 0) + 1);
  tally.set(operation, counts);
}

/** The `FUZZ_STATS` report: one line per operation, its answers by status and code. */
export function printTally(): void {
  if (process.env.FUZZ_STATS !== '1') return;
  const lines = [...tally].map(
    ([operation, counts]) =>
      `${operation}: ${[...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([key, count]) => `${key} ×${count}`)
        .join(', ')}`,
  );
  console.log(lines.join('\n'));
}

const STABLE_CODE = /^[A-Z][A-Z0-9_]*$/;

/**
 * What is wrong with an answer, or an empty list: no 5xx; an error is the envelope
 * `{code, message, error, details?, requestId, timestamp}` as JSON with `code` equal to the HTTP
 * status and `error` one of the stable codes whose status it is; a success is HTTP 200 with
 * `{code: 200, message, data?, timestamp}` as JSON.
 */
export function envelopeProblems(answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (!answer.contentType.startsWith('application/json')) problems.push(`content-type "${answer.contentType}"`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    return [...problems, `not JSON: ${answer.text.slice(0, 200)}`];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [...problems, 'not an object'];
  if (body.code !== answer.status) problems.push(`code ${String(body.code)} ≠ status ${answer.status}`);
  if (typeof body.message !== 'string') problems.push('no message');
  if (typeof body.timestamp !== 'number') problems.push('no timestamp');
  if (answer.status >= 200 && answer.status < 300) {
    if (answer.status !== 200) problems.push(`success status ${answer.status} (every success is 200)`);
    if ('error' in body) problems.push('a success with an error code');
    return problems;
  }
  const error = body.error;
  if (typeof error !== 'string' || !STABLE_CODE.test(error)) {
    problems.push(`error ${JSON.stringify(error)} is not a stable code`);
  } else if (!(error in ERROR_STATUS)) {
    problems.push(`error ${error} is not in ERROR_STATUS`);
  } else if (ERROR_STATUS[error as keyof typeof ERROR_STATUS] !== answer.status) {
    problems.push(`error ${error} is ${ERROR_STATUS[error as keyof typeof ERROR_STATUS]}, answered ${answer.status}`);
  }
  if (typeof body.requestId !== 'string' || body.requestId.length === 0) problems.push('no requestId');
  return problems;
}

/**
 * Fails with the answer when it breaks the invariant (fast-check then prints the request and the
 * seed), with what the app logged for that request: the stack of a 5xx.
 */
export function expectEnvelope(answer: Answer, target?: FuzzTarget): void {
  const problems = envelopeProblems(answer);
  if (problems.length === 0) return;
  let requestId = '';
  try {
    requestId = String((JSON.parse(answer.text) as { requestId?: string }).requestId ?? '');
  } catch {
    // Not JSON: the problems say so.
  }
  const logs = target?.logsOf(requestId) ?? [];
  throw new Error(
    `${problems.join('; ')}\nanswer ${answer.status}: ${answer.text.slice(0, 500)}` +
      (logs.length > 0 ? `\nlogged:\n${logs.join('\n').slice(0, 4000)}` : ''),
  );
}

/**
 * What the logs show that a client's input must not cause: a line at error level or above, or a
 * stack trace. Minute metrics are flushed first, so a poisoned number that only fails at write
 * time (issue #15, finding 1) shows up here. `from`: where in the capture the lines to check start.
 */
export async function logProblems(target: FuzzTarget, capture: LogCapture, from = 0): Promise<string[]> {
  await target.gateway.app.get(MinuteAggregator).flush(true);
  const lines = capture.text
    .slice(from)
    .split('\n')
    .filter((line) => line.trim() !== '');
  const bad = lines.filter((line) => {
    const parsed = JSON.parse(line) as { level?: number };
    // A database error logged at warn carries `"stack":""`; a stack trace is a non-empty one.
    return (parsed.level ?? 0) >= 50 || /"stack":"[^"]|\bat [\w.<>]+ \(/.test(line);
  });
  return bad.map((line) => line.slice(0, 1000));
}

/** The app still answers: its liveness probe is 200 within a second. */
export async function expectAlive(target: FuzzTarget): Promise<void> {
  const res = await fetch(`${target.baseUrl}/api/health/live`, { signal: AbortSignal.timeout(1000) });
  expect(res.status).toBe(200);
}

/** How a body is refused before any handler runs: also a body sent to an operation that takes none. */
const BODY_CODES: readonly ErrorCode[] = [
  'INVALID_JSON',
  'BODY_TOO_DEEP',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

/**
 * What a request no operation serves may get: 404 or 405, unless the router refused its path
 * first (a bad escape, a segment too long), or its body was refused first (Fastify parses a body
 * before it answers 404).
 */
const UNROUTED_ANSWERS: readonly ErrorCode[] = [...UNROUTED_CODES, 'INVALID_URL', 'URI_TOO_LONG', ...BODY_CODES];

/**
 * What the document says an operation answers, checked against what it answered: the route the
 * server chose for the request (the fuzzer's path may have turned into another route's, or none),
 * the statuses and `error` codes that operation documents, and the envelope's shape (`details`
 * included) against the code's component. Codes answered before any route is chosen (malformed
 * HTTP, oversized headers) are the document's global ones: `exempt` lists those a suite expects.
 */
export class DocumentedAnswers {
  private readonly router = FindMyWay({ maxParamLength: MAX_PARAM_LENGTH });
  private readonly operations: Operation[];
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly envelopes = new Map<ErrorCode, ValidateFunction>();

  constructor(private readonly document: ApiDocument) {
    this.operations = operationsOf(document);
    for (const operation of this.operations) {
      const template = operation.path.replace(/\{(\w+)\}/g, ':$1');
      this.router.on(operation.method as HTTPMethod, template, () => undefined, { operation });
    }
    this.ajv.addSchema({ $id: 'openapi.json', components: document.components });
  }

  /**
   * The problems of an error answer to `request` (aimed at `aimed`), or an empty list. `path` is
   * the path as the server saw it (`fetch` resolves dot segments: {@link effectivePath}); `sentBody`:
   * the request carried a body or a Content-Type.
   */
  problems(
    aimed: Operation,
    method: string,
    path: string,
    answer: Answer,
    { exempt = [], sentBody = false }: { exempt?: readonly ErrorCode[]; sentBody?: boolean } = {},
  ): string[] {
    if (answer.status < 400) return [];
    let body: { error?: string };
    try {
      body = JSON.parse(answer.text) as { error?: string };
    } catch {
      return []; // envelopeProblems reports it
    }
    const code = body.error as ErrorCode;
    if (!(code in ERROR_STATUS) || exempt.includes(code)) return [];
    const operation = this.routeOf(aimed, method, path);
    if (operation === undefined) {
      return UNROUTED_ANSWERS.includes(code) ? [] : [`no operation serves ${method} ${path}, yet it answered ${code}`];
    }
    // An operation that takes no body documents no body errors; one sent anyway is refused like any other.
    if (sentBody && operation.operation.requestBody === undefined && BODY_CODES.includes(code)) return [];
    const documented = documentedErrorCodes(this.document as unknown as OpenAPIObject, operation.operation);
    const codes = documented.get(answer.status);
    if (codes === undefined) return [`${operation.name} documents no ${answer.status} (it answered ${code})`];
    if (!codes.includes(code))
      return [`${operation.name} documents ${answer.status} as ${codes.join(', ')}, not ${code}`];
    const validate = this.envelopeOf(code);
    return validate(body)
      ? []
      : [`${code} does not match ${errorComponentName(code)}: ${this.ajv.errorsText(validate.errors)}`];
  }

  /**
   * The operation the server routed the request to: the one whose template matches, else the aimed
   * one when the path still has its shape (a parameter the router refused to decode or too long:
   * INVALID_URL, URI_TOO_LONG), else none.
   */
  private routeOf(aimed: Operation, method: string, path: string): Operation | undefined {
    // The server routes no request with an empty parameter (`/api/instances/`) where find-my-way alone would.
    const found = this.router.find(method as HTTPMethod, path);
    if (found !== null && Object.values(found.params).every((value) => value !== '')) {
      return (found.store as { operation: Operation }).operation;
    }
    const segments = path.split('/');
    const template = aimed.path.split('/');
    const fits =
      aimed.method === method &&
      segments.length === template.length &&
      template.every((part, index) => (part.startsWith('{') ? segments[index] !== '' : part === segments[index]));
    return fits ? aimed : undefined;
  }

  private envelopeOf(code: ErrorCode): ValidateFunction {
    let validate = this.envelopes.get(code);
    if (validate === undefined) {
      validate = this.ajv.getSchema(`openapi.json#/components/schemas/${errorComponentName(code)}`);
      if (validate === undefined) throw new Error(`no component for ${code}`);
      this.envelopes.set(code, validate);
    }
    return validate;
  }
}

/** The path a `fetch` of `url` sends: dot segments resolved (`/a/%2e%2e/b` is `/b`), the query cut. */
export function effectivePath(url: string): string {
  return new URL(url, 'http://127.0.0.1').pathname;
}

/** Fails with the answer when the document does not say it (see {@link DocumentedAnswers}). */
export function expectDocumented(problems: readonly string[], answer: Answer): void {
  if (problems.length === 0) return;
  throw new Error(`${problems.join('; ')}\nanswer ${answer.status}: ${answer.text.slice(0, 500)}`);
}

/** The operations of the committed `openapi.json`, known before any app boots (to name one test each). */
export function committedDocument(): ApiDocument {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8')) as ApiDocument;
}

/** One HTTP/1.1 answer read off a raw socket. */
export interface RawAnswer extends Answer {
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Writes bytes to the app as they are (no client library to fix them up) and parses every answer
 * that comes back until the server closes the connection (the requests say `Connection: close`).
 * The socket is not half-closed: Node's server aborts a request whose client has sent FIN, so a
 * slow handler would never answer. `hangUp` half-closes anyway, for a request the server would
 * otherwise wait on forever (a Content-Length longer than the body). A connection still open
 * after `timeoutMs` is a hang: it rejects.
 */
export function rawExchange(
  port: number,
  bytes: Buffer,
  { hangUp = false, timeoutMs = 10_000 } = {},
): Promise<RawAnswer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let hung = false;
    socket.setTimeout(timeoutMs, () => {
      hung = true;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer (the server closed while bytes were still being written) is fine:
    // what was read is judged.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (hung) reject(new Error(`no answer within ${timeoutMs} ms (${Buffer.concat(chunks).length} bytes read)`));
      else resolve(parseAnswers(Buffer.concat(chunks)));
    });
    if (hangUp) socket.end(bytes);
    else socket.write(bytes);
  });
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length or chunked bodies). */
export function parseAnswers(stream: Buffer): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let at = 0;
  while (at < stream.length) {
    const headEnd = stream.indexOf('\r\n\r\n', at);
    if (headEnd < 0) {
      answers.push({ status: 0, contentType: '', headers: {}, text: stream.subarray(at).toString('latin1') });
      break;
    }
    const [statusLine, ...lines] = stream.subarray(at, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headers['transfer-encoding']?.includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        const sizeEnd = stream.indexOf('\r\n', bodyStart);
        const size = sizeEnd < 0 ? 0 : parseInt(stream.subarray(bodyStart, sizeEnd).toString('latin1'), 16);
        bodyStart = sizeEnd < 0 ? stream.length : sizeEnd + 2;
        if (!(size > 0)) {
          bodyStart += 2;
          break;
        }
        parts.push(stream.subarray(bodyStart, bodyStart + size));
        bodyStart += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers['content-length'] ?? stream.length - bodyStart);
      body = stream.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    }
    answers.push({
      status: Number(statusLine.split(' ')[1]),
      contentType: headers['content-type'] ?? '',
      headers,
      text: body.toString('utf8'),
    });
    at = bodyStart;
  }
  return answers;
}

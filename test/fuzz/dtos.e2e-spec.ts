import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';
import fc from 'fast-check';
import type { ErrorCode } from '../../src/common/error-codes';
import { describeEachDatabase, type TestDatabase } from '../utils/test-database';
import { type FuzzRequest, type GenContext, type Operation, operationsOf, requestOf } from './arbitraries';
import {
  committedDocument,
  countAnswer,
  DocumentedAnswers,
  effectivePath,
  expectAlive,
  expectDocumented,
  expectEnvelope,
  FUZZ_SEED,
  FUZZ_TIMEOUT_MS,
  FuzzTarget,
  fuzzRuns,
  LogCapture,
  logProblems,
  printTally,
  send,
  type Answer,
} from './harness';

/**
 * Issue #15: a fuzz suite over every request DTO. Each operation of the OpenAPI document gets a
 * property over real HTTP: path and query parameters, body and credentials generated from the
 * operation's own schemas and then bent (see ./arbitraries.ts). Whatever is sent, the answer is
 * never a 5xx, always the JSON envelope with `code` = HTTP status and a stable `error`, nothing is
 * logged at error level or with a stack, and the app stays up. SQLite runs every operation; with
 * `TEST_DATABASE_URL`, MariaDB runs every operation that writes.
 *
 * Replay or widen a run with `FUZZ_SEED=<seed> FUZZ_RUNS=<runs> npx jest test/fuzz`.
 */

/** A request with the tenant's key, as the regression examples below are written. */
const tenant = (method: string, url: string, body?: unknown): FuzzRequest => ({
  method,
  url,
  auth: 'valid',
  scheme: 'api-key',
  ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
});

/** `{"a":{"a":…1…}}`, `depth` levels deep. */
const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/**
 * Inputs that answered 5xx or left the envelope before issue #15 (finding 11, and finding 1's
 * unbounded numbers), replayed first on every run with each operation's property (fast-check
 * `examples`); a counterexample the fuzzer finds goes here too.
 */
const REGRESSIONS: Readonly<Record<string, readonly FuzzRequest[]>> = {
  'GET /api/instances': [
    tenant('GET', '/api/instances?page=1e21&size=200'),
    tenant('GET', '/api/instances?page=9007199254740993'),
  ],
  'POST /api/instances': [
    tenant(
      'POST',
      '/api/instances',
      `{"apiIdentifier":"x","apiType":"MODEL","businessId":"deep","metadata":${deep(2000)}}`,
    ),
    // MySQL's collation matched these to `fuzz-a` (duplicate entry → 500).
    tenant('POST', '/api/instances', { apiIdentifier: 'model', apiType: 'MODEL', businessId: 'FUZZ-A' }),
    tenant('POST', '/api/instances', { apiIdentifier: 'model', apiType: 'MODEL', businessId: 'fuzz-a ' }),
  ],
  'POST /api/instances/batch': [
    tenant(
      'POST',
      '/api/instances/batch',
      `{"instances":[{"apiIdentifier":"x","apiType":"MODEL","businessId":"d","routingParams":${'['.repeat(9000)}${']'.repeat(9000)}}]}`,
    ),
  ],
  'PUT /api/instances/{apiType}/{businessId}': [
    tenant('PUT', '/api/instances/MODEL/fuzz-a', { apiIdentifier: 'model', routingParams: null }),
    tenant('PUT', '/api/instances/MODEL/fuzz-a', `{"apiIdentifier":"x","metadata":${deep(2000)}}`),
  ],
  'GET /api/instances/{id}': [tenant('GET', '/api/instances/%E0%A4%A')],
  'DELETE /api/instances/{apiType}/{businessId}': [tenant('DELETE', `/api/instances/MODEL/${'b'.repeat(513)}`)],
  'PATCH /api/projects/current/settings': [
    tenant('PATCH', '/api/projects/current/settings', `{"breaker":${deep(2000)}}`),
  ],
  'POST /api/gateway/select-instance': [
    tenant(
      'POST',
      '/api/gateway/select-instance',
      `{"apiIdentifier":"x","apiType":"MODEL","tags":${'['.repeat(9000)}${']'.repeat(9000)}}`,
    ),
  ],
  'POST /api/gateway/report-result': [
    tenant('POST', '/api/gateway/report-result', {
      instanceId: '0'.repeat(32),
      businessId: 'fuzz-a',
      success: true,
      latencyMs: 1,
      callTimestamp: 0,
      usageMetrics: { cost: 1.7e308, totalTokens: 1e308 },
    }),
  ],
};

/** Nest handlers left out of the OpenAPI document on purpose, each fuzzed by its own case here. */
const OUTSIDE_OPENAPI: readonly string[] = ['Prometheus_scrape'];

/** The operations of the committed document: one test each (the live document must match it). */
const OPERATIONS = operationsOf(committedDocument());

/**
 * Codes a well-formed request may still get before any route is chosen (Node's limits on headers
 * and time): the document states them once, for every operation.
 */
const BEFORE_ROUTING: readonly ErrorCode[] = ['HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT'];

/** Operations that may change state: the MariaDB variant and the race run these. */
const isWrite = (method: string) => method !== 'GET';

/** One log sink for the file: the app's logger keeps the first destination it was given. */
const capture = new LogCapture();

/** The operation id Nest's swagger module gives a handler (see `buildOpenApiDocument`). */
function handlerIds(target: FuzzTarget): string[] {
  const discovery = target.gateway.app.get(DiscoveryService);
  const scanner = target.gateway.app.get(MetadataScanner);
  return discovery.getControllers().flatMap((wrapper) => {
    const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
    return scanner
      .getAllMethodNames(prototype)
      .filter((method) => Reflect.getMetadata(PATH_METADATA, prototype[method] as object) !== undefined)
      .map((method) => `${String(wrapper.name).replace(/Controller$/, '')}_${method}`);
  });
}

describeEachDatabase('fuzz: every request DTO', (database: TestDatabase) => {
  let target: FuzzTarget;
  let documented: DocumentedAnswers;

  beforeAll(async () => {
    target = await FuzzTarget.start({
      database,
      env: { LOG_LEVEL: 'warn' },
      logDestination: capture,
      extra: { imports: [DiscoveryModule] },
    });
    documented = new DocumentedAnswers(target.document);
  }, 60_000);

  /** The answer is the envelope, and what the document says `operation` answers (issue #16). */
  function expectAnswer(operation: Operation, request: FuzzRequest, answer: Answer): void {
    expectEnvelope(answer, target);
    const path = effectivePath(request.url);
    const options = { exempt: BEFORE_ROUTING, sentBody: request.body !== undefined };
    expectDocumented(documented.problems(operation, request.method, path, answer, options), answer);
  }
  afterAll(async () => {
    printTally();
    await target?.gateway.close();
  });

  /**
   * Runs `property` over `requests` on fresh fixtures, then checks the logs it caused and that the
   * app still answers.
   */
  async function fuzz<T>(
    requests: (context: GenContext) => fc.Arbitrary<T>,
    property: (request: T) => Promise<void>,
    examples: readonly T[],
  ): Promise<void> {
    const { pools } = await target.refresh();
    const logged = capture.text.length;
    await fc.assert(fc.asyncProperty(requests({ document: target.document, pools }), property), {
      seed: FUZZ_SEED,
      numRuns: fuzzRuns(database.name === 'sqlite' ? 15 : 6),
      examples: examples.map((example) => [example]),
    });
    expect(await logProblems(target, capture, logged)).toEqual([]);
    await expectAlive(target);
  }

  it('every route the app serves is in the OpenAPI document, and every operation has a property here', () => {
    const live = operationsOf(target.document).map((operation) => operation.name);
    expect(live.sort()).toEqual(OPERATIONS.map((operation) => operation.name).sort());
    const documented = new Set(operationsOf(target.document).map((operation) => operation.operation.operationId));
    const undocumented = handlerIds(target).filter((id) => !documented.has(id));
    expect(undocumented.sort()).toEqual([...OUTSIDE_OPENAPI].sort());
  });

  const operations = database.name === 'sqlite' ? OPERATIONS : OPERATIONS.filter((one) => isWrite(one.method));
  it.each(operations)(
    '$name',
    async ({ name }) => {
      const operation = operationsOf(target.document).find((one) => one.name === name);
      if (!operation) throw new Error(`${name} is no longer served: regenerate openapi.json`);
      await fuzz(
        (context) => requestOf(operation, context),
        async (request) => {
          const answer = await send(target, request);
          countAnswer(name, answer);
          expectAnswer(operation, request, answer);
        },
        REGRESSIONS[name] ?? [],
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'concurrent writes: generated write requests raced, each one repeated',
    async () => {
      const writeOperations = operationsOf(target.document).filter((one) => isWrite(one.method));
      await fuzz(
        (context) =>
          fc
            .array(
              fc.tuple(
                fc
                  .constantFrom(...writeOperations)
                  .chain((operation) =>
                    requestOf(operation, context).map((request) => ({ aimed: operation.name, request })),
                  ),
                fc.integer({ min: 1, max: 3 }),
              ),
              { minLength: 1, maxLength: 3 },
            )
            .map((requests) => requests.flatMap(([aimed, times]) => Array.from({ length: times }, () => aimed))),
        async (race) => {
          const answers = await Promise.all(race.map(({ request }) => send(target, request)));
          answers.forEach((answer, index) => {
            const { aimed, request } = race[index];
            countAnswer(`race ${request.method} ${request.url.split('?')[0]}`, answer);
            expectAnswer(
              writeOperations.find((one) => one.name === aimed)!,
              request,
              answer,
            );
          });
        },
        [],
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'GET /metrics (outside the document): hostile credentials are 401 in the envelope',
    async () => {
      const printable = fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      });
      const authorization = fc.oneof(
        printable,
        printable.map((token) => `Bearer ${token}`),
        printable.map((token) => `Basic ${Buffer.from(token).toString('base64')}`),
        fc.constantFrom('Bearer', 'Bearer ', 'bearer a b', `Bearer ${'a'.repeat(8000)}`),
      );
      await fc.assert(
        fc.asyncProperty(authorization, async (header) => {
          const res = await fetch(`${target.baseUrl}/metrics`, { headers: { authorization: header } });
          const answer = {
            status: res.status,
            contentType: res.headers.get('content-type') ?? '',
            text: await res.text(),
          };
          expect(answer.status).toBe(401);
          expectEnvelope(answer, target);
        }),
        { seed: FUZZ_SEED, numRuns: fuzzRuns(database.name === 'sqlite' ? 15 : 5) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

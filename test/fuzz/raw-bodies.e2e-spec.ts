import fc from 'fast-check';
import {
  type GenContext,
  type Json,
  nest,
  type Operation,
  bodySchemaOf,
  bodyOf,
  encodeText,
  operationsOf,
  poolNameOf,
  toJsonText,
  valueOf,
} from './arbitraries';
import { HTTP_LEVEL_CODES } from '../../src/common/openapi-errors';
import {
  countAnswer,
  DocumentedAnswers,
  expectDocumented,
  expectEnvelope,
  expectAlive,
  FUZZ_SEED,
  FUZZ_TIMEOUT_MS,
  FuzzTarget,
  fuzzRuns,
  LogCapture,
  logProblems,
  printTally,
  rawExchange,
} from './harness';

/**
 * Issue #15: the raw-body paths, fuzzed over a raw socket so that no client library tidies the
 * bytes up: malformed and truncated JSON, a byte-order mark, bytes that are not UTF-8, duplicated
 * and prototype-polluting keys, bodies nested past the depth limit or larger than the body limit,
 * every kind of Content-Type, Content-Length and Transfer-Encoding framing, and header values
 * with control and non-ASCII bytes. Every answer that comes back (a pipelined leftover gets its
 * own) is the envelope with `code` = status, never a 5xx; nothing is logged at error level; the
 * app stays up. Replay or widen with `FUZZ_SEED` and `FUZZ_RUNS`.
 */

/** How the body is framed on the wire. */
type Framing =
  | { readonly kind: 'length' | 'chunked' | 'none' | 'length-and-chunked' | 'bad-chunk' }
  | { readonly kind: 'short-length'; readonly by: number }
  | { readonly kind: 'long-length'; readonly by: number }
  | { readonly kind: 'bad-length'; readonly header: string };

/** One raw request: what fast-check prints as the counterexample. */
interface RawCase {
  readonly operation: string;
  /** `undefined`: no Content-Type header at all. */
  readonly contentType?: string;
  readonly framing: Framing;
  /** The body bytes, as latin1 text so that a counterexample shows every byte. */
  readonly body: string;
  /** Extra header lines, written as latin1 bytes. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly auth: boolean;
}

/**
 * Raw inputs that left the envelope before issue #15 (finding 11: a bad Content-Length answered by
 * Node's parser, JSON nested thousands deep), replayed first on every run of each property whose
 * shape they fit; a counterexample the fuzzer finds goes here too.
 */
const REGRESSIONS: readonly RawCase[] = [
  {
    operation: 'POST /api/instances',
    contentType: 'application/json',
    framing: { kind: 'bad-length', header: 'abc' },
    body: '{}',
    auth: true,
  },
  {
    operation: 'POST /api/instances',
    contentType: 'application/json',
    framing: { kind: 'length' },
    body: `{"apiIdentifier":"x","apiType":"MODEL","businessId":"deep","metadata":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
    auth: true,
  },
  {
    operation: 'POST /api/instances',
    contentType: 'application/xml',
    framing: { kind: 'length' },
    body: '<x/>',
    auth: true,
  },
];

const capture = new LogCapture();

const CONTENT_TYPES: readonly string[] = [
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json ; charset="utf-8"',
  'application/json;;;',
  'application/json, text/plain',
  'application/vnd.api+json',
  'application/jsonp',
  'application/json-patch+json',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  '*/*',
  '',
  ' ',
  'application/',
  '/json',
];

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 6 },
  { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { arbitrary: fc.constant<Framing>({ kind: 'length' }), weight: 8 },
  {
    arbitrary: fc.constantFrom<Framing>({ kind: 'chunked' }, { kind: 'none' }, { kind: 'length-and-chunked' }),
    weight: 2,
  },
  { arbitrary: fc.constant<Framing>({ kind: 'bad-chunk' }), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 40 }).map((by): Framing => ({ kind: 'short-length', by })), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 40 }).map((by): Framing => ({ kind: 'long-length', by })), weight: 1 },
  {
    arbitrary: fc
      .constantFrom('abc', '-1', '1e3', '0x10', ' 5', '5 5', '99999999999999999999', '', '+5')
      .map((header): Framing => ({ kind: 'bad-length', header })),
    weight: 1,
  },
);

/** Text as UTF-8 bytes, shown as latin1 (the form {@link RawCase} keeps bytes in). */
const bytesOf = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Byte sequences that are not UTF-8: lone continuation, overlong, truncated, surrogate, invalid. */
const NOT_UTF8: readonly string[] = [
  '\x80',
  '\xc0\x80',
  '\xe2\x82',
  '\xed\xa0\x80',
  '\xff\xfe',
  '\xf8\x88\x80\x80\x80',
];

/** Corruptions of a JSON text, at a byte position taken modulo its length. */
type Corruption = 'truncate' | 'insert' | 'delete' | 'replace';

function corrupt(text: string, kind: Corruption, at: number, byte: number): string {
  const i = text.length === 0 ? 0 : at % text.length;
  const char = String.fromCharCode(byte);
  switch (kind) {
    case 'truncate':
      return text.slice(0, i);
    case 'insert':
      return text.slice(0, i) + char + text.slice(i);
    case 'delete':
      return text.slice(0, i) + text.slice(i + 1);
    case 'replace':
      return text.slice(0, i) + char + text.slice(i + 1);
  }
}

/** Bodies for one operation: well-formed, broken, strangely encoded, deep, huge or not JSON at all. */
function bodiesOf(operation: Operation, context: GenContext, bodyLimit: number): fc.Arbitrary<string> {
  const schema = bodySchemaOf(operation.operation) ?? { type: 'object' };
  const valid = valueOf(schema, { ...context, strict: true });
  const json = valid.map((value) => bytesOf(toJsonText(value)));
  const withField = (field: string) =>
    valid.map((value) => {
      const text = toJsonText(value);
      return bytesOf(text.startsWith('{') && text.length > 2 ? `{${field},${text.slice(1)}` : `{${field}}`);
    });
  return fc.oneof(
    { arbitrary: json, weight: 3 },
    { arbitrary: bodyOf(schema, context).map((value) => bytesOf(toJsonText(value))), weight: 3 },
    {
      arbitrary: fc
        .tuple(json, fc.constantFrom<Corruption>('truncate', 'insert', 'delete', 'replace'), fc.nat(), fc.nat(255))
        .map(([text, kind, at, byte]) => corrupt(text, kind, at, byte)),
      weight: 4,
    },
    // A byte-order mark, UTF-16 and bytes that are not UTF-8 inside a string.
    { arbitrary: json.map((text) => `\xef\xbb\xbf${text}`), weight: 1 },
    {
      arbitrary: valid.map((value) => Buffer.from(`\ufeff${toJsonText(value)}`, 'utf16le').toString('latin1')),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...NOT_UTF8), fc.constantFrom('apiIdentifier', 'name', 'username', 'businessId', 'x'))
        .chain(([bad, field]) => withField(`"${field}":"a${bad}b"`)),
      weight: 2,
    },
    // Duplicated and prototype-polluting keys.
    {
      arbitrary: withField('"__proto__":{"polluted":true}'),
      weight: 1,
    },
    { arbitrary: withField('"constructor":{"prototype":{"polluted":true}}'), weight: 1 },
    {
      arbitrary: json.map((text) => (text.startsWith('{"') ? `${text.slice(0, -1)},${text.slice(1)}` : text)),
      weight: 1,
    },
    // Deep: around the limit; thousands of levels under a field, or as the whole body; unbalanced.
    {
      arbitrary: fc
        .tuple(valid, fc.integer({ min: 28, max: 40 }))
        .map(([value, levels]) => bytesOf(toJsonText(nest(value, levels)))),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom('metadata', 'routingParams', 'breaker', 'quotas', 'settings', 'tags', 'usageMetrics'),
          fc.constantFrom('instances', 'results', 'scopes', 'fallbackChain', 'excludeInstanceIds', 'name', 'x'),
          fc.integer({ min: 1000, max: 9000 }),
        )
        .chain(([objectField, otherField, depth]) =>
          fc
            .constantFrom(objectField, otherField)
            .chain((field) => withField(`"${field}":${toJsonText(nest({ deep: true }, depth))}`)),
        ),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 1000, max: 20000 }), fc.constantFrom('[', '{"a":', '[{"a":'), fc.boolean())
        .map(([depth, open, balanced]) => {
          const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
          return `${open.repeat(depth)}1${balanced ? close.repeat(depth) : ''}`;
        }),
      weight: 1,
    },
    // Past the body limit (the batch routes take more: there it is a big, valid-sized body).
    {
      arbitrary: fc
        .tuple(json, fc.integer({ min: 1, max: 2048 }))
        .map(([text, over]) => `${text}${' '.repeat(Math.max(0, bodyLimit + over - text.length))}`),
      weight: 1,
    },
    {
      arbitrary: fc.constantFrom(
        '',
        ' \r\n\t',
        'null',
        'true',
        '0',
        '-0',
        '1e999',
        '"text"',
        '[]',
        '{}',
        '[null]',
        '{"":""}',
        '\x00',
        'undefined',
        "{'single':'quotes'}",
        '{"a":1,}',
        '[1,]',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":01}',
        '{"a":.5}',
        '{"a":"\\u00"}',
        '{"a":"\\ud800"}',
        '/* comment */{}',
        '{}{}',
        '{} trailing',
      ),
      weight: 2,
    },
    { arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes).toString('latin1')), weight: 1 },
  );
}

/** Header lines that should not be trusted: control and non-ASCII bytes, huge values, duplicates. */
const hostileHeader: fc.Arbitrary<readonly [string, string]> = fc.tuple(
  fc.constantFrom(
    'api-key',
    'authorization',
    'x-request-id',
    'content-type',
    'accept',
    'x-forwarded-for',
    'content-encoding',
    'origin',
    'host',
  ),
  fc.oneof(
    fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 64 }),
    fc.constantFrom(
      '\x00',
      '\x7f',
      'a\tb',
      'gzip',
      'br',
      'deflate',
      'Bearer ',
      'Bearer a.b.c',
      `x${'y'.repeat(20_000)}`,
      'ÁDMÍN',
    ),
  ),
);

/** The path a raw case is sent to: parameters from the pools (a known instance, project, key or user), so the body is what fails. */
function pathOf(target: FuzzTarget, operation: Operation): string {
  return (operation.operation.parameters ?? [])
    .filter((parameter) => parameter.in === 'path')
    .reduce((url, parameter) => {
      const pooled = target.fixtures.pools[poolNameOf(operation.path, parameter)]?.[0];
      return url.replace(`{${parameter.name}}`, encodeText(typeof pooled === 'string' ? pooled : 'fuzz-raw'));
    }, operation.path);
}

/** The bytes of a raw case, as sent. */
function wireOf(target: FuzzTarget, operation: Operation, request: RawCase, token: string): Buffer {
  const path = pathOf(target, operation);
  const lines = [`${operation.method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (request.auth) {
    const scheme = Object.keys(operation.operation.security?.[0] ?? {})[0];
    if (scheme === 'api-key') lines.push(`api-key: ${target.fixtures.tenant.apiKey}`);
    if (scheme === 'admin-jwt') lines.push(`Authorization: Bearer ${token}`);
  }
  if (request.contentType !== undefined) lines.push(`Content-Type: ${request.contentType}`);
  for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`);
  const body = Buffer.from(request.body, 'latin1');
  let payload = body;
  switch (request.framing.kind) {
    case 'length':
      lines.push(`Content-Length: ${body.length}`);
      break;
    case 'short-length':
      lines.push(`Content-Length: ${Math.max(0, body.length - request.framing.by)}`);
      break;
    case 'long-length':
      lines.push(`Content-Length: ${body.length + request.framing.by}`);
      break;
    case 'bad-length':
      lines.push(`Content-Length: ${request.framing.header}`);
      break;
    case 'chunked':
    case 'length-and-chunked':
    case 'bad-chunk':
      if (request.framing.kind === 'length-and-chunked') lines.push(`Content-Length: ${body.length}`);
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([
        Buffer.from(request.framing.kind === 'bad-chunk' ? 'zz\r\n' : `${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
      break;
    case 'none':
      break;
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

describe('fuzz: raw bodies and framing', () => {
  let target: FuzzTarget;
  let operations: Operation[];
  let documented: DocumentedAnswers;

  beforeAll(async () => {
    target = await FuzzTarget.start({ env: { LOG_LEVEL: 'warn' }, logDestination: capture });
    operations = operationsOf(target.document);
    documented = new DocumentedAnswers(target.document);
  }, 60_000);
  afterAll(async () => {
    printTally();
    await target?.gateway.close();
  });

  /**
   * Sends each generated case on its own connection; every answer must be the envelope. Only a
   * Content-Length longer than the body may go unanswered (the server is still waiting for the
   * rest when the client hangs up).
   */
  async function fuzzRaw(
    title: string,
    cases: (context: GenContext, bodyOperations: Operation[]) => fc.Arbitrary<RawCase>,
    runs: number,
  ): Promise<void> {
    const { pools } = await target.refresh();
    const logged = capture.text.length;
    const bodyOperations = operations.filter((operation) => bodySchemaOf(operation.operation) !== undefined);
    await fc.assert(
      fc.asyncProperty(cases({ document: target.document, pools }, bodyOperations), async (request) => {
        const operation = operations.find((one) => one.name === request.operation)!;
        const answers = await rawExchange(target.port, wireOf(target, operation, request, await target.adminToken()), {
          hangUp: request.framing.kind === 'long-length',
        });
        if (answers.length === 0 && request.framing.kind !== 'long-length') throw new Error('no answer');
        for (const answer of answers) {
          countAnswer(`${title} ${request.framing.kind} ${request.operation}`, answer);
          expectEnvelope(answer, target);
          // Malformed HTTP is answered before any route: those codes are the document's global ones.
          const sentBody =
            request.body !== '' ||
            request.contentType !== undefined ||
            (request.headers ?? []).some(([name]) => name.toLowerCase() === 'content-type');
          const path = pathOf(target, operation);
          const problems = documented.problems(operation, operation.method, path, answer, {
            exempt: HTTP_LEVEL_CODES,
            sentBody,
          });
          expectDocumented(problems, answer);
        }
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(runs), examples: REGRESSIONS.map((one) => [one]) },
    );
    expect(await logProblems(target, capture, logged)).toEqual([]);
    await expectAlive(target);
  }

  const onBodyRoute = (context: GenContext, bodyOperations: Operation[], limit: number) =>
    fc.constantFrom(...bodyOperations).chain((operation) =>
      fc.record({
        operation: fc.constant(operation.name),
        contentType,
        framing: fc.constant<Framing>({ kind: 'length' }),
        body: bodiesOf(operation, context, limit),
        auth: fc.constant(true),
      }),
    );

  it(
    'malformed, strangely encoded, deep and huge JSON bodies on every route that takes one',
    () =>
      fuzzRaw(
        'bodies',
        (context, bodyOperations) => onBodyRoute(context, bodyOperations, target.gateway.config.bodyLimitBytes),
        100,
      ),
    FUZZ_TIMEOUT_MS,
  );

  it(
    'every Content-Type, Content-Length and Transfer-Encoding framing',
    () =>
      fuzzRaw(
        'framing',
        (context, bodyOperations) =>
          fc.constantFrom(...bodyOperations).chain((operation) =>
            fc.record({
              operation: fc.constant(operation.name),
              contentType,
              framing,
              body: valueOf(bodySchemaOf(operation.operation)!, { ...context, strict: true }).map((value) =>
                bytesOf(toJsonText(value)),
              ),
              auth: fc.constant(true),
            }),
          ),
        60,
      ),
    FUZZ_TIMEOUT_MS,
  );

  it(
    'hostile header bytes on any route, with or without a body',
    () =>
      fuzzRaw(
        'headers',
        (context) =>
          fc.constantFrom(...operations).chain((operation) =>
            fc.record({
              operation: fc.constant(operation.name),
              contentType: bodySchemaOf(operation.operation) ? fc.constant('application/json') : fc.constant(undefined),
              framing: fc.constant<Framing>({ kind: 'length' }),
              body: bodySchemaOf(operation.operation)
                ? valueOf(bodySchemaOf(operation.operation)!, { ...context, strict: true }).map((value: Json) =>
                    bytesOf(toJsonText(value)),
                  )
                : fc.constant(''),
              headers: fc.array(hostileHeader, { minLength: 1, maxLength: 3 }),
              auth: fc.boolean(),
            }),
          ),
        60,
      ),
    FUZZ_TIMEOUT_MS,
  );
});

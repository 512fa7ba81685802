import fc from 'fast-check';

/**
 * fast-check arbitraries that turn the app's OpenAPI document into hostile HTTP requests: values
 * drawn from each operation's own schemas (so most requests get past validation and reach the
 * handlers), then bent by mutations (wrong types, null, huge and non-finite numbers, long and
 * strange strings, deep nesting, extra and prototype-polluting keys, duplicated keys), and path
 * and query parameters that range from known-good ids to bytes that are not UTF-8.
 */

/** A JSON literal written as is: what `JSON.stringify` cannot produce (`-0`, `1e999`, 30-digit integers). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object written with a key repeated, `{"a":1,"a":2}`: JSON allows it, parsers disagree on the winner. */
export class DuplicateKeys {
  constructor(readonly entries: readonly (readonly [string, Json])[]) {}
}

/** A generated body before it is written: plain JSON plus the two forms above. */
export type Json = null | boolean | number | string | RawJson | DuplicateKeys | readonly Json[] | JsonObject;

/** A JSON object (its keys may include `__proto__` and `constructor` as own properties). */
export interface JsonObject {
  readonly [key: string]: Json;
}

/** The subset of an OpenAPI 3 schema the generator reads. */
export interface SchemaNode {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly Json[];
  readonly format?: string;
  readonly pattern?: string;
  readonly nullable?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly items?: SchemaNode;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | SchemaNode;
  readonly allOf?: readonly SchemaNode[];
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
}

/** An OpenAPI parameter (path or query). */
export interface ParameterNode {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema?: SchemaNode;
}

/** An OpenAPI operation, as far as the fuzzer needs it. */
export interface OperationNode {
  readonly operationId: string;
  readonly parameters?: readonly ParameterNode[];
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: SchemaNode }>> };
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

/** An OpenAPI document, as far as the fuzzer needs it. */
export interface ApiDocument {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OperationNode>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, SchemaNode>> };
}

/** One operation of the document with where it lives. */
export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operation: OperationNode;
  /** `POST /api/instances`: how tests and failures name it. */
  readonly name: string;
}

/** Every operation of a document, in document order. */
export function operationsOf(document: ApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operation,
      name: `${method.toUpperCase()} ${path}`,
    })),
  );
}

/** The JSON body schema of an operation, if it takes one. */
export function bodySchemaOf(operation: OperationNode): SchemaNode | undefined {
  return operation.requestBody?.content['application/json']?.schema;
}

/** Known-good values by property or parameter name (ids of fixtures, the clock's now), to get past lookups. */
export type Pools = Readonly<Record<string, readonly Json[]>>;

/** What the generators need: the document (for `$ref`s) and the pools. */
export interface GenContext {
  readonly document: ApiDocument;
  readonly pools: Pools;
  /** Only values the schema accepts (no boundary-plus-one strings, no sloppy pool variants). */
  readonly strict?: boolean;
}

/** Follows `$ref`s and single-`allOf` wrappers (how nullable references are written), keeping `nullable`. */
function resolve(node: SchemaNode, document: ApiDocument): SchemaNode {
  if (node.$ref) {
    const name = node.$ref.replace('#/components/schemas/', '');
    const target = document.components.schemas[name];
    if (!target) throw new Error(`Unknown schema ${node.$ref}`);
    return resolve({ ...target, nullable: node.nullable ?? target.nullable }, document);
  }
  if (node.allOf?.length === 1) {
    return resolve({ ...node.allOf[0], nullable: node.nullable ?? node.allOf[0].nullable }, document);
  }
  return node;
}

const typeOf = (node: SchemaNode): string | undefined =>
  Array.isArray(node.type) ? (node.type as readonly string[]).find((type) => type !== 'null') : (node.type as string);

/** Beyond this, arrays and strings stay short: the fuzzer looks for crashes, not for the body limit. */
const MAX_ITEMS = 4;
const SHORT_STRING = 24;

/**
 * Values a schema accepts (mostly; `nullable` adds null). A property or parameter with a pool
 * draws from it too, with case and whitespace variants of the pooled values (duplicates that a
 * case-insensitive collation would match).
 */
export function valueOf(node: SchemaNode, context: GenContext, name?: string, depth = 0): fc.Arbitrary<Json> {
  const schema = resolve(node, context.document);
  let value = plainValueOf(schema, context, depth);
  const pool = name === undefined ? undefined : context.pools[name];
  if (pool && pool.length > 0) {
    value = context.strict
      ? fc.oneof({ arbitrary: fc.constantFrom(...pool), weight: 5 }, { arbitrary: value, weight: 1 })
      : fc.oneof(
          { arbitrary: fc.constantFrom(...pool), weight: 3 },
          { arbitrary: fc.constantFrom(...pool).chain(variantsOf), weight: 1 },
          { arbitrary: value, weight: 2 },
        );
  }
  return schema.nullable
    ? fc.oneof({ arbitrary: value, weight: 5 }, { arbitrary: fc.constant(null), weight: 1 })
    : value;
}

/** A pooled value as a sloppy or hostile client might write it. */
function variantsOf(value: Json): fc.Arbitrary<Json> {
  if (typeof value !== 'string') return fc.constant(value);
  return fc.constantFrom(
    value.toUpperCase(),
    `${value} `,
    ` ${value}`,
    `${value}\u0301`,
    `${value}\u0000`,
    value + value,
  );
}

function plainValueOf(schema: SchemaNode, context: GenContext, depth: number): fc.Arbitrary<Json> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  // `OutcomeClass | string` (a report's errorType): a value of either.
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((branch) => valueOf(branch, context, undefined, depth)));
  switch (typeOf(schema)) {
    case 'string':
      return stringOf(schema, context.strict === true);
    case 'integer':
      return integerOf(schema);
    case 'number':
      if (context.strict) return integerOf(schema);
      return fc.oneof(
        fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true }),
        integerOf(schema),
      );
    case 'boolean':
      return fc.boolean();
    case 'array':
      return arrayOf(schema, context, depth);
    case 'object':
      return objectOf(schema, context, depth);
    case undefined:
    default:
      return fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
  }
}

function stringOf(schema: SchemaNode, strict: boolean): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 256;
  if (schema.format === 'date-time') {
    const dates = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true });
    return dates.map((date) => date.toISOString());
  }
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length >= min && text.length <= max);
  }
  const short = fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, SHORT_STRING)) });
  if (strict) return fc.oneof({ arbitrary: short, weight: 6 }, { arbitrary: fc.constant('a'.repeat(max)), weight: 1 });
  return fc.oneof(
    { arbitrary: short, weight: 6 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.max(min, SHORT_STRING) }), weight: 1 },
    // The longest accepted, in ASCII and in 4-byte characters, and one past it.
    { arbitrary: fc.constantFrom('a'.repeat(max), '😀'.repeat(Math.max(1, max / 2)), 'b'.repeat(max + 1)), weight: 1 },
  );
}

function integerOf(schema: SchemaNode): fc.Arbitrary<number> {
  const min = Math.max(schema.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER);
  const max = Math.min(schema.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER);
  return fc.oneof(
    { arbitrary: fc.integer({ min, max }), weight: 4 },
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
  );
}

function arrayOf(schema: SchemaNode, context: GenContext, depth: number): fc.Arbitrary<Json> {
  const items = schema.items ? valueOf(schema.items, context, undefined, depth + 1) : fc.jsonValue({ maxDepth: 1 });
  const minLength = Math.min(schema.minItems ?? 0, MAX_ITEMS);
  const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS));
  return schema.uniqueItems
    ? fc.uniqueArray(items as fc.Arbitrary<Json>, { minLength, maxLength, selector: (item) => JSON.stringify(item) })
    : fc.array(items as fc.Arbitrary<Json>, { minLength, maxLength });
}

function objectOf(schema: SchemaNode, context: GenContext, depth: number): fc.Arbitrary<Json> {
  const properties = Object.entries(schema.properties ?? {});
  const free =
    schema.additionalProperties === true || (properties.length === 0 && schema.additionalProperties !== false);
  const extra = free
    ? fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { maxKeys: 4 })
    : fc.constant({});
  if (properties.length === 0 || depth > 6) return extra;
  const model = Object.fromEntries(properties.map(([key, value]) => [key, valueOf(value, context, key, depth + 1)]));
  const record = fc.record(model, { requiredKeys: (schema.required ?? []) as string[] }) as fc.Arbitrary<JsonObject>;
  return fc.tuple(extra, record).map(([more, fields]): Json => ({ ...more, ...fields }));
}

/** Strings that have broken parsers, databases, loggers and URL handling somewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e21',
  '1e308',
  '9007199254740993',
  '0x1F',
  '1_000',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  "' OR '1'='1",
  '"; DROP TABLE projects; --',
  '\\',
  '%',
  '%00',
  '%zz',
  '../../../etc/passwd',
  '\u0000',
  '\u0000\u0001\u001f',
  '\r\nX-Injected: 1',
  '\u202e\u200b\ufeff',
  '\ud800',
  '\udfff\ud800',
  '😀👩‍👩‍👧‍👦',
  'ÁDMÍN',
  'ＡＤＭＩＮ',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '[object Object]',
  'a'.repeat(129),
  'é'.repeat(257),
  '😀'.repeat(300),
];

/** JSON numbers past what a double, a 64-bit column or a JavaScript integer holds. */
export const HOSTILE_NUMBERS: readonly Json[] = [
  -0,
  -1,
  0.5,
  1.5,
  2 ** 31,
  2 ** 32 + 1,
  Number.MAX_SAFE_INTEGER,
  1e21,
  1e300,
  1.7e308,
  -1.7e308,
  Number.MIN_VALUE,
  new RawJson('-0'),
  new RawJson('1e999'),
  new RawJson('-1e999'),
  new RawJson('1E+400'),
  new RawJson('1e-400'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('-9007199254740993'),
  new RawJson('0.30000000000000004'),
];

/** Any string: hostile constants, arbitrary unicode (lone surrogates included), long runs. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 16 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 5000 }).map((length) => 'x'.repeat(length)), weight: 1 },
);

/** Any JSON value a client should not send where a schema says otherwise. */
export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: fc.constantFrom<Json>(null, true, false, 0, [], {}, [[[]]], { $gt: '' }, [null]), weight: 3 },
  { arbitrary: fc.constantFrom(...HOSTILE_NUMBERS), weight: 3 },
  { arbitrary: hostileString, weight: 3 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.bigInt().map((big) => new RawJson(big.toString())), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>, weight: 2 },
);

/** Keys an object should never be trusted with. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  '$where',
  'a.b',
  'k'.repeat(300),
  '\u0000',
  'projectId',
  'id',
  'apiKey',
];

/** How one mutation bends a generated value. */
export type MutationKind = 'replace' | 'drop' | 'addKey' | 'wrapInArray' | 'duplicateKey' | 'nest';

/** One change at a place in a value (`path` picks a child at each level, modulo the children). */
export interface Mutation {
  readonly kind: MutationKind;
  readonly path: readonly number[];
  readonly value: Json;
  readonly key: string;
  /**
   * For `nest`: levels added around the node: a few, around the body depth limit (32), or
   * thousands (what overflowed recursive walkers before the limit existed, issue #15 finding 11).
   */
  readonly levels: number;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>('replace', 'replace', 'drop', 'addKey', 'wrapInArray', 'duplicateKey', 'nest'),
  path: fc.array(fc.nat(), { maxLength: 4 }),
  value: hostileValue,
  key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 6 })),
  levels: fc.oneof(
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 28, max: 40 }),
    fc.integer({ min: 1000, max: 9000 }),
  ),
});

const DROP = Symbol('drop');
type Step = Json | typeof DROP;

const isObject = (value: Json): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawJson);

/** Applies a mutation to a copy of `value` (fast-check reuses generated values while shrinking). */
export function applyMutation(value: Json, change: Mutation): Json {
  const result = applyAt(value, change.path, change);
  return result === DROP ? null : result;
}

function applyAt(value: Json, path: readonly number[], change: Mutation): Step {
  if (path.length > 0 && Array.isArray(value) && value.length > 0) {
    const index = path[0] % value.length;
    const items = value as readonly Json[];
    const child = applyAt(items[index], path.slice(1), change);
    return child === DROP ? items.filter((_, i) => i !== index) : items.map((item, i) => (i === index ? child : item));
  }
  if (path.length > 0 && isObject(value) && !(value instanceof DuplicateKeys) && Object.keys(value).length > 0) {
    const keys = Object.keys(value);
    const key = keys[path[0] % keys.length];
    const child = applyAt(value[key], path.slice(1), change);
    return withKeys(
      keys.flatMap((k): [string, Json][] => (k !== key ? [[k, value[k]]] : child === DROP ? [] : [[k, child]])),
    );
  }
  return mutateNode(value, change);
}

function mutateNode(value: Json, change: Mutation): Step {
  switch (change.kind) {
    case 'replace':
      return change.value;
    case 'drop':
      return DROP;
    case 'wrapInArray':
      return [value];
    case 'nest':
      return nest(value, change.levels);
    case 'addKey':
      return isObject(value) && !(value instanceof DuplicateKeys)
        ? withKeys([...Object.entries(value), [change.key, change.value]])
        : change.value;
    case 'duplicateKey': {
      if (!isObject(value) || value instanceof DuplicateKeys) return value;
      const entries = Object.entries(value);
      const key = entries[0]?.[0] ?? change.key;
      return new DuplicateKeys([...entries, [key, change.value]]);
    }
  }
}

/** An object with exactly these own keys, `__proto__` included as a plain own property. */
export function withKeys(entries: readonly (readonly [string, Json])[]): JsonObject {
  const object: Record<string, Json> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/**
 * `value` inside `levels` arrays and objects, alternating, as raw text: thousands of levels are
 * built and written without recursion (which would overflow this process's stack first).
 */
export function nest(value: Json, levels: number): Json {
  const pairs = Math.floor(levels / 2);
  const odd = levels % 2 === 1;
  const open = `${'[{"a":'.repeat(pairs)}${odd ? '[' : ''}`;
  const close = `${odd ? ']' : ''}${'}]'.repeat(pairs)}`;
  return new RawJson(`${open}${toJsonText(value)}${close}`);
}

/** Writes a generated value as JSON text, raw literals and repeated keys included. */
export function toJsonText(value: Json): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof DuplicateKeys) {
    return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${(value as readonly Json[]).map(toJsonText).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${toJsonText(value[key])}`)
      .join(',')}}`;
  }
  // JSON.stringify writes NaN and ±Infinity as null, which is what a careless client sends too.
  return JSON.stringify(value);
}

/** A body for a schema: valid most of the time, bent by up to three mutations otherwise, or anything at all. */
export function bodyOf(schema: SchemaNode, context: GenContext): fc.Arbitrary<Json> {
  const valid = valueOf(schema, context);
  const bent = fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([value, changes]) => changes.reduce(applyMutation, value));
  return fc.oneof(
    { arbitrary: valid, weight: 3 },
    { arbitrary: bent, weight: 5 },
    { arbitrary: hostileValue, weight: 1 },
  );
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes every byte that is not unreserved (bytes that are not UTF-8 included). */
export function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A string as a URL component (lone surrogates become U+FFFD, as any UTF-8 encoder does). */
export const encodeText = (text: string): string => percentEncode(Buffer.from(text, 'utf8'));

/** Path segments and query values written as they are: broken escapes, dot segments, over-long. */
const RAW_URL_PARTS: readonly string[] = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%FF%FE',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '.',
  '%20',
  'a'.repeat(513),
  `${'%E2%82%AC'.repeat(128)}`,
  `${'%E2%82%AC'.repeat(171)}`,
];

/**
 * The pool a parameter draws from: a path `{id}` is named by the collection before it
 * (`/api/admin/projects/{id}` draws project ids), any other parameter by its own name.
 */
export function poolNameOf(path: string, parameter: ParameterNode): string {
  if (parameter.in !== 'path' || parameter.name !== 'id') return parameter.name;
  const collection = path.split('/{id}')[0].split('/').pop();
  const names: Readonly<Record<string, string>> = { projects: 'projectId', apikeys: 'apiKeyId', users: 'adminUserId' };
  return names[collection ?? ''] ?? 'instanceId';
}

/**
 * A path or query value, already encoded. Strict: a pooled or schema value. Otherwise also a
 * hostile string, raw bytes that are not UTF-8, or a malformed escape sent as is.
 */
export function urlValueOf(parameter: ParameterNode, pool: string, context: GenContext): fc.Arbitrary<string> {
  const fromSchema = valueOf(parameter.schema ?? { type: 'string' }, context, pool).map((value) =>
    encodeText(typeof value === 'string' ? value : toJsonText(value)),
  );
  if (context.strict) return fromSchema;
  return fc.oneof(
    { arbitrary: fromSchema, weight: 6 },
    { arbitrary: hostileString.map(encodeText), weight: 2 },
    { arbitrary: fc.constantFrom(...HOSTILE_NUMBERS).map((value) => encodeText(toJsonText(value))), weight: 1 },
    { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map(percentEncode), weight: 1 },
    { arbitrary: fc.constantFrom(...RAW_URL_PARTS), weight: 1 },
  );
}

/** How a request authenticates. */
export type AuthMode = 'valid' | 'none' | 'garbage' | 'viewer' | 'crossed';

export const authMode: fc.Arbitrary<AuthMode> = fc.oneof(
  { arbitrary: fc.constant<AuthMode>('valid'), weight: 12 },
  { arbitrary: fc.constantFrom<AuthMode>('none', 'garbage', 'viewer', 'crossed'), weight: 1 },
);

/** One generated request: what fast-check prints as the counterexample when it fails. */
export interface FuzzRequest {
  readonly method: string;
  /** Path and query, already encoded. */
  readonly url: string;
  readonly auth: AuthMode;
  /** The operation's security scheme (`api-key`, `admin-jwt`), which `auth` applies to; absent: public. */
  readonly scheme?: string;
  /** The JSON text sent as `application/json`; absent: no body. */
  readonly body?: string;
}

/**
 * The query string of an operation. Strict: each parameter absent or valid. Otherwise also
 * hostile, repeated, written as `name[]`/`name[a]`, and stray parameters.
 */
function queryOf(path: string, parameters: readonly ParameterNode[], context: GenContext): fc.Arbitrary<string> {
  const given = (parameter: ParameterNode) =>
    urlValueOf(parameter, poolNameOf(path, parameter), context).map((value) => [`${parameter.name}=${value}`]);
  const one = (parameter: ParameterNode): fc.Arbitrary<readonly string[]> =>
    context.strict
      ? fc.oneof(fc.constant<readonly string[]>([]), given(parameter))
      : fc.oneof(
          { arbitrary: fc.constant<readonly string[]>([]), weight: 3 },
          { arbitrary: given(parameter), weight: 4 },
          {
            arbitrary: fc.array(given(parameter), { minLength: 2, maxLength: 3 }).map((values) => values.flat()),
            weight: 1,
          },
          {
            arbitrary: fc.constantFrom<readonly string[]>(
              [parameter.name],
              [`${parameter.name}[]=1`],
              [`${parameter.name}[a]=1`],
            ),
            weight: 1,
          },
        );
  const stray = context.strict
    ? fc.constant([])
    : fc.array(
        fc
          .tuple(fc.constantFrom(...HOSTILE_KEYS, 'page', 'size', 'apiKey'), hostileString)
          .map(([key, value]) => `${encodeText(key)}=${encodeText(value)}`),
        { maxLength: 1 },
      );
  return fc
    .tuple(fc.tuple(...parameters.map(one)), stray)
    .map(([values, extra]) => [...values.flat(), ...extra])
    .map((pairs) => (pairs.length > 0 ? `?${pairs.join('&')}` : ''));
}

/** The body of a request to a route that takes none: usually none, sometimes anything. */
const bodyForNone: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: hostileValue.map(toJsonText), weight: 1 },
);

/** Requests of one mode: everything valid (strict), or everything open to hostility. */
function requestsIn(operation: Operation, context: GenContext): fc.Arbitrary<FuzzRequest> {
  const parameters = operation.operation.parameters ?? [];
  const pathParameters = parameters.filter((parameter) => parameter.in === 'path');
  const queryParameters = parameters.filter((parameter) => parameter.in === 'query');
  const segments = fc.tuple(
    ...pathParameters.map((parameter) => urlValueOf(parameter, poolNameOf(operation.path, parameter), context)),
  );
  const schema = bodySchemaOf(operation.operation);
  // A route without a body (activate, rotate, logout, DELETE by id) may still be sent one.
  const stray = context.strict || operation.method === 'GET' ? fc.constant(undefined) : bodyForNone;
  const body: fc.Arbitrary<string | undefined> = !schema
    ? stray
    : context.strict
      ? valueOf(schema, context).map(toJsonText)
      : fc.oneof(
          { arbitrary: bodyOf(schema, context).map(toJsonText), weight: 20 },
          { arbitrary: fc.constant(undefined), weight: 1 },
        );
  const auth = context.strict ? fc.constant<AuthMode>('valid') : authMode;
  const scheme = Object.keys(operation.operation.security?.[0] ?? {})[0];
  return fc
    .record({ segments, query: queryOf(operation.path, queryParameters, context), auth, body })
    .map(({ segments: values, query, auth: mode, body: text }) => {
      let path = operation.path;
      pathParameters.forEach((parameter, index) => {
        path = path.replace(`{${parameter.name}}`, values[index]);
      });
      return {
        method: operation.method,
        url: `${path}${query}`,
        auth: mode,
        ...(scheme === undefined ? {} : { scheme }),
        ...(text === undefined ? {} : { body: text }),
      };
    });
}

/**
 * Requests for one operation: two in five entirely valid (so handlers run, not only validation),
 * the others with hostile parameters, bodies and credentials.
 */
export function requestOf(operation: Operation, context: GenContext): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { arbitrary: requestsIn(operation, { ...context, strict: true }), weight: 2 },
    { arbitrary: requestsIn(operation, { ...context, strict: false }), weight: 3 },
  );
}

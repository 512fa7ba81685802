import type { FieldError, GatewayError } from '../src/common/gateway-error';
import type { SchemaPipe } from '../src/common/schema-validation';
import fastJson from 'fast-json-stringify';
import { GatewayController } from '../src/selection/gateway.controller';
import { SELECT_ANSWER_SCHEMA } from '../src/selection/hot-routes';
import { createTestApp, type TestApp } from './utils/test-app';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document, walked keyword by keyword
type Schema = Record<string, any>;

/** Each hot-path operation, the component its body is documented by, its pipe, a valid body. */
const BODIES = [
  ['/api/gateway/select-instance', 'SelectInstanceDto', 'selectBody', { apiIdentifier: 'a', apiType: 'MODEL' }],
  ['/api/gateway/report-result', 'ReportResultDto', 'reportBody', report()],
  ['/api/gateway/report-results', 'ReportResultsDto', 'reportsBody', { results: [report()] }],
] as const;

function report() {
  return { instanceId: 'i', businessId: 'b', success: true, latencyMs: 1, callTimestamp: 1 };
}

/**
 * The served OpenAPI component in the validator's dialect: references resolved, OpenAPI 3.0's
 * `nullable` written as a `[type, 'null']` union (and `null` in the enum), OpenAPI 3.0's single
 * `example` as JSON Schema's `examples: [example]` (both annotations), descriptions dropped.
 * Every other keyword is kept, so a keyword the document claims and ajv does not see fails.
 */
function asValidated(schema: Schema, components: Record<string, Schema>): Schema {
  if (schema.$ref) return asValidated(components[String(schema.$ref).split('/').pop()!], components);
  // `OutcomeClass | string` (a report's errorType): documented for generated clients, validated as its string branch.
  if (schema.anyOf) {
    const branches = schema.anyOf as Schema[];
    return asValidated(branches.find((branch) => !branch.$ref && !branch.enum) ?? {}, components);
  }
  const { nullable, description: _description, allOf, example, ...rest } = schema;
  // `{ nullable, type: object, allOf: [$ref] }` is how a nullable reference is written; nothing else may ride along.
  if (allOf && (allOf.length !== 1 || Object.keys(rest).some((keyword) => keyword !== 'type'))) {
    throw new Error(`unexpected allOf: ${JSON.stringify(schema)}`);
  }
  let out: Schema = allOf ? asValidated(allOf[0], components) : { ...rest };
  if (example !== undefined) out.examples = [example];
  if (out.properties) out.properties = mapValues(out.properties, (property) => asValidated(property, components));
  if (out.items) out.items = asValidated(out.items, components);
  if (out.required) out.required = [...out.required].sort();
  if (nullable) {
    out = { ...out, type: [out.type, 'null'] };
    if (out.enum) out.enum = [...out.enum, null];
  }
  return out;
}

/** The compiled schema, comparable: descriptions dropped (ajv ignores them), `required` sorted. */
function comparable(schema: Schema): Schema {
  const { description: _description, ...out } = schema;
  if (out.properties) out.properties = mapValues(out.properties, comparable);
  if (out.items) out.items = comparable(out.items);
  if (out.required) out.required = [...out.required].sort();
  return out;
}

function mapValues(object: Schema, map: (value: Schema) => Schema): Schema {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value)]));
}

/** The `details[].field` values the pipe rejects the body with; [] when it accepts it. */
function rejectedFields(pipe: SchemaPipe<unknown>, body: unknown): string[] {
  try {
    pipe.transform(body);
    return [];
  } catch (error) {
    return ((error as GatewayError).details as readonly FieldError[]).map((detail) => detail.field);
  }
}

/**
 * The hot-path bodies are validated by compiled JSON schemas (ajv) and documented from the same
 * schemas: this checks the document served and the schema each handler's pipe compiled are the
 * same schema, keyword for keyword, both ways — and that each documented bound is the one enforced.
 */
describe('hot-path bodies: the served OpenAPI document says what the validators enforce', () => {
  let gateway: TestApp;
  let document: Schema;
  let components: Record<string, Schema>;
  let pipes: Record<string, SchemaPipe<unknown>>;

  beforeAll(async () => {
    gateway = await createTestApp();
    document = (await gateway.http().get('/api/docs-json').expect(200)).body;
    components = document.components.schemas as Record<string, Schema>;
    // The pipes the handlers validate with (private fields: what the handlers really compiled).
    const controller = gateway.app.get(GatewayController, { strict: false });
    pipes = {
      selectBody: controller['selectBody'],
      reportBody: controller['reportBody'],
      reportsBody: controller['reportsBody'],
    };
  });
  afterAll(() => gateway.close());

  describe.each(BODIES)('%s', (path, component, pipeName, validBody) => {
    const pipe = () => pipes[pipeName];
    const documented = () => asValidated(components[component], components);

    it(`documents its body as the component ${component}`, () => {
      const body = document.paths[path].post.requestBody.content['application/json'].schema as Schema;
      expect(body).toEqual({ $ref: `#/components/schemas/${component}` });
    });

    it('documents exactly the schema its pipe compiled (every keyword, nested objects and items)', () => {
      expect(documented()).toStrictEqual(comparable(pipe().schema));
    });

    it('accepts the sample body (so the probes below test one field at a time)', () => {
      expect(rejectedFields(pipe(), validBody)).toEqual([]);
    });

    it('enforces every documented bound at its documented value, and accepts exactly the documented enum values', () => {
      const probes = Object.entries(documented().properties as Record<string, Schema>).flatMap(([name, schema]) => {
        const sample = (size: number): unknown => (String(schema.type).startsWith('array') ? [] : 'a'.repeat(size));
        const out: [string, unknown, boolean][] = [];
        if (schema.maximum !== undefined) out.push([name, schema.maximum, true], [name, schema.maximum + 1, false]);
        if (schema.minimum !== undefined) out.push([name, schema.minimum, true], [name, schema.minimum - 1, false]);
        if (schema.maxLength !== undefined) out.push([name, sample(schema.maxLength), true]);
        if (schema.maxLength !== undefined) out.push([name, sample(schema.maxLength + 1), false]);
        if (schema.minLength) out.push([name, sample(schema.minLength - 1), false]);
        if (schema.minItems) out.push([name, [], false]);
        if (schema.maxItems !== undefined && schema.items?.type === 'string') {
          out.push([name, Array<string>(schema.maxItems).fill('a'), true]);
          out.push([name, Array<string>(schema.maxItems + 1).fill('a'), false]);
          if (schema.items.maxLength) out.push([name, ['a'.repeat(schema.items.maxLength + 1)], false]);
        }
        // Enums both ways: every documented value is accepted, and nothing else is.
        if (schema.enum) {
          for (const value of schema.enum as unknown[]) out.push([name, value, true]);
          out.push([name, 'NOT_A_DOCUMENTED_VALUE', false]);
        }
        if (schema.items?.enum) {
          for (const value of schema.items.enum as unknown[]) out.push([name, [value], true]);
          out.push([name, ['NOT_A_DOCUMENTED_VALUE'], false]);
        }
        return out;
      });
      for (const [name, value, accepted] of probes) {
        const fields = rejectedFields(pipe(), { ...validBody, [name]: value });
        expect({ name, value, fields }).toEqual({ name, value, fields: accepted ? [] : [expect.stringMatching(name)] });
      }
    });
  });
});

/**
 * select-instance's answer is written by a serializer compiled from SELECT_ANSWER_SCHEMA, which
 * drops any field it does not name: it must name every documented field, with its nullability,
 * and write exactly what JSON.stringify would.
 */
describe("select-instance's answer serializer", () => {
  let gateway: TestApp;
  let components: Record<string, Schema>;

  beforeAll(async () => {
    gateway = await createTestApp();
    components = (await gateway.http().get('/api/docs-json').expect(200)).body.components.schemas;
  });
  afterAll(() => gateway.close());

  it('names every field of SelectedInstanceDto and nothing else, with its documented type and nullability', () => {
    const documented = components.SelectedInstanceDto.properties as Record<string, Schema>;
    const serialized = SELECT_ANSWER_SCHEMA.properties.data.properties as Record<string, Schema>;
    expect(Object.keys(serialized).sort()).toEqual(Object.keys(documented).sort());
    // The documented type: references (enums, nested DTOs) resolved to their component's type.
    const typeOf = (schema: Schema): string => {
      const ref = schema.$ref ?? schema.allOf?.[0]?.$ref;
      return ref ? typeOf(components[String(ref).split('/').pop()!]) : String(schema.type);
    };
    for (const [name, schema] of Object.entries(documented)) {
      const types = ([] as string[]).concat(serialized[name].type);
      const written = { name, type: types[0], nullable: types.includes('null') };
      expect(written).toEqual({ name, type: typeOf(schema), nullable: schema.nullable === true });
    }
  });

  it('writes what JSON.stringify writes, explain and metadata included', () => {
    const serialize = fastJson(SELECT_ANSWER_SCHEMA);
    const answer = {
      code: 200,
      message: 'success',
      data: {
        id: 'a'.repeat(32),
        projectId: 'b'.repeat(32),
        userId: 'user "quoted" \u2028',
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        businessId: 'azure-east',
        routingParams: { weight: 2, breaker: { failureRate: 50 } },
        status: 'ACTIVE',
        metadata: { region: 'eastus', tags: ['a', 1, null] },
        endpoint: null,
        createdAt: '2026-12-06T00:00:00.000Z',
        updatedAt: '2026-12-06T00:00:01.000Z',
        selectionId: 'c'.repeat(32),
        strategy: 'smart',
        tier: 1,
        degraded: true,
        fallbackUsed: true,
        fallbackFrom: 'gpt-4',
        affinityBound: false,
        explain: { strategy: 'smart', candidates: [{ id: 'x', score: 0.5 }] },
      },
      timestamp: 1_767_225_600_000,
    };
    expect(JSON.parse(serialize(answer))).toEqual(JSON.parse(JSON.stringify(answer)));
    const bare = { ...answer, data: { ...answer.data, userId: null, metadata: null, explain: undefined } };
    expect(JSON.parse(serialize(bare))).toEqual(JSON.parse(JSON.stringify(bare)));
  });
});

import Ajv from 'ajv';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_STATUS, type ErrorCode } from '../src/common/error-codes';
import {
  HTTP_LEVEL_CODES,
  UNROUTED_CODES,
  documentedErrorCodes,
  errorComponentName,
  impliedErrorCodes,
} from '../src/common/openapi-errors';
import { buildOpenApiDocument } from '../src/common/swagger';
import { WebhooksService } from '../src/alerts/webhooks.service';
import { AdminUsersService } from '../src/tenancy/admin-users.service';
import { ApiKeysService } from '../src/tenancy/api-keys.service';
import { type ApiDocument, type Operation, operationsOf } from './fuzz/arbitraries';
import { DocumentedAnswers } from './fuzz/harness';
import { adminToken, createProject } from './utils/fixtures';
import { registerInstances } from './utils/hot-path';
import { createTestApp, type TestApp } from './utils/test-app';

/**
 * Issue #16: the OpenAPI document is one every generator likes and every reader can trust: per
 * operation and status exactly the stable codes it answers, each with its typed envelope and a
 * realistic example; named shared schemas (`RoutingParams`, `OutcomeClass`); request examples
 * that pass validation when tried from Swagger UI as they are. The fuzz suites (test/fuzz) check
 * that what the operations answer is what is documented here.
 */

type Schema = Record<string, unknown>;

/** An OpenAPI 3.0 schema as JSON Schema for ajv: `nullable` becomes a `null` type. */
function jsonSchemaOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(jsonSchemaOf);
  if (node === null || typeof node !== 'object') return node;
  const { nullable, discriminator: _discriminator, example: _example, ...rest } = node as Schema;
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, jsonSchemaOf(value)]));
  if (nullable !== true) return converted;
  if (typeof converted.type === 'string') {
    return {
      ...converted,
      type: [converted.type, 'null'],
      ...(Array.isArray(converted.enum) ? { enum: [...(converted.enum as unknown[]), null] } : {}),
    };
  }
  return { anyOf: [converted, { type: 'null' }] };
}

/** A validator of `#/components/...` references of the document. */
function validatorOf(document: OpenAPIObject): (schema: unknown, value: unknown) => string | undefined {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openapi.json', components: jsonSchemaOf(document.components) });
  return (schema, value) => {
    const validate = ajv.compile({ $id: `check-${Math.random()}`, ...(jsonSchemaOf(rebase(schema)) as Schema) });
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
}

/** `#/components/...` references made absolute, so a schema outside the document resolves them. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi.json${value}` : rebase(value),
    ]),
  );
}

interface MediaType {
  readonly schema?: Schema;
  readonly examples?: Record<string, { value: unknown }>;
}

const mediaOf = (operation: Operation): MediaType | undefined =>
  (operation.operation.requestBody?.content as Record<string, MediaType> | undefined)?.['application/json'];

describe('the OpenAPI document (issue #16)', () => {
  let gateway: TestApp;
  let document: OpenAPIObject;
  let operations: Operation[];

  beforeAll(async () => {
    gateway = await createTestApp();
    document = buildOpenApiDocument(gateway.app);
    operations = operationsOf(document as unknown as ApiDocument);
  });
  afterAll(() => gateway.close());

  const errorsOf = (operation: Operation) => documentedErrorCodes(document, operation.operation);

  it('documents each error status with codes of that status, each once, and one matching example per code', () => {
    const check = validatorOf(document);
    const problems: string[] = [];
    for (const operation of operations) {
      const responses = (
        operation.operation as unknown as { responses: Record<string, { content: Record<string, MediaType> }> }
      ).responses;
      for (const [status, codes] of errorsOf(operation)) {
        const media = responses[String(status)].content['application/json'];
        if (new Set(codes).size !== codes.length) problems.push(`${operation.name} ${status}: a code twice`);
        for (const code of codes) {
          if (ERROR_STATUS[code] !== status)
            problems.push(`${operation.name} ${status}: ${code} is ${ERROR_STATUS[code]}`);
          const example = media.examples?.[code]?.value as { code?: number; error?: string } | undefined;
          if (example?.code !== status || example.error !== code) {
            problems.push(`${operation.name} ${status}: no example of ${code}`);
            continue;
          }
          const mismatch = check(media.schema, example);
          if (mismatch) problems.push(`${operation.name} ${status} ${code} example: ${mismatch}`);
        }
        if (Object.keys(media.examples ?? {}).length !== codes.length) {
          problems.push(`${operation.name} ${status}: examples of codes it does not answer`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents, beside its own, the codes every operation answers for what it is, and no code answered before routing', () => {
    const problems: string[] = [];
    for (const operation of operations) {
      const documented = new Set([...errorsOf(operation).values()].flat());
      const implied = impliedErrorCodes(operation.operation);
      for (const code of implied) if (!documented.has(code)) problems.push(`${operation.name} lacks ${code}`);
      for (const code of [...HTTP_LEVEL_CODES, ...UNROUTED_CODES]) {
        if (documented.has(code)) problems.push(`${operation.name} lists ${code}`);
      }
      if (operation.method === 'GET' && documented.has('ADMIN_ROLE_REQUIRED')) {
        problems.push(`${operation.name}: a viewer may read`);
      }
    }
    expect(problems).toEqual([]);
    // What each kind of operation answers besides its own codes.
    const select = operations.find((one) => one.name === 'POST /api/gateway/select-instance')!;
    expect(Object.fromEntries(errorsOf(select))).toMatchObject({
      401: ['API_KEY_MISSING', 'INVALID_API_KEY', 'API_KEY_REVOKED', 'API_KEY_EXPIRED'],
      403: ['API_KEY_NOT_BOUND', 'PROJECT_INACTIVE', 'INSUFFICIENT_SCOPE'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      500: ['INTERNAL_ERROR'],
    });
    const live = operations.find((one) => one.name === 'GET /api/health/live')!;
    expect(Object.fromEntries(errorsOf(live))).toEqual({ 429: ['THROTTLED'], 500: ['INTERNAL_ERROR'] });
  });

  it('names each code once: one envelope component per code, whose error is that code and whose details are typed', () => {
    const schemas = document.components!.schemas as Record<string, Schema>;
    const codes = new Set(operations.flatMap((operation) => [...errorsOf(operation).values()].flat()));
    for (const code of codes) {
      const envelope = schemas[errorComponentName(code)] as { properties: Record<string, Schema>; required: string[] };
      expect(envelope.properties.error).toMatchObject({ enum: [code] });
      expect(envelope.properties.code).toMatchObject({ enum: [ERROR_STATUS[code]] });
    }
    const detailsOf = (code: ErrorCode) =>
      (schemas[errorComponentName(code)] as { properties: Record<string, Schema> }).properties.details;
    expect(detailsOf('VALIDATION_FAILED')).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/FieldErrorDto' },
    });
    expect(detailsOf('FALLBACK_EXHAUSTED')).toEqual({ $ref: '#/components/schemas/SelectionFailureDetails' });
    expect(detailsOf('THROTTLED')).toEqual({ $ref: '#/components/schemas/RetryAfterDetails' });
    expect(detailsOf('INVALID_API_KEY')).toBeUndefined();
    // Not the old shared envelope whose every example was a 404.
    expect(schemas.ErrorEnvelopeDto).toBeUndefined();
  });

  it('references RoutingParams from every routingParams property, and OutcomeClass from a report errorType', () => {
    const schemas = document.components!.schemas as Record<string, { properties?: Record<string, Schema> }>;
    const holders = Object.entries(schemas).filter(([, schema]) => schema.properties?.routingParams !== undefined);
    expect(holders.map(([name]) => name)).toEqual(
      expect.arrayContaining(['InstanceDto', 'CreateInstanceDto', 'UpdateInstanceDto', 'SelectedInstanceDto']),
    );
    for (const [name, schema] of holders) {
      expect([name, schema.properties!.routingParams.allOf]).toEqual([
        name,
        [{ $ref: '#/components/schemas/RoutingParams' }],
      ]);
    }
    expect(schemas.RoutingParams).toMatchObject({ additionalProperties: true });
    expect(Object.keys(schemas.RoutingParams.properties!)).toEqual(
      expect.arrayContaining(['priority', 'weight', 'initial_weight', 'costPerUnit', 'cost_per_unit', 'breaker']),
    );
    expect(schemas.ReportResultDto.properties!.errorType.anyOf).toEqual([
      { $ref: '#/components/schemas/OutcomeClass' },
      { type: 'string', nullable: true },
    ]);
    expect(schemas.OutcomeClass).toEqual({
      type: 'string',
      enum: ['SUCCESS', 'SERVER_ERROR', 'TIMEOUT', 'RATE_LIMITED', 'AUTH_ERROR', 'CLIENT_ERROR', 'UNKNOWN'],
    });
  });

  it('gives every request body examples, and each matches the body schema', () => {
    const check = validatorOf(document);
    const problems: string[] = [];
    for (const operation of operations) {
      const media = mediaOf(operation);
      if (!media) continue;
      const examples = Object.entries(media.examples ?? {});
      if (examples.length === 0) problems.push(`${operation.name}: no example (Swagger UI would invent one)`);
      for (const [name, example] of examples) {
        const mismatch = check(media.schema, example.value);
        if (mismatch) problems.push(`${operation.name} example ${name}: ${mismatch}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every request-body example, sent as it is, passes validation and gets a documented answer', async () => {
    const project = await createProject(gateway, 'Docs examples');
    const instances = await registerInstances(gateway, project, [
      { apiIdentifier: 'gpt-4o', apiType: 'MODEL', businessId: 'openai-gpt-4o-eu' },
    ]);
    // A second key of the project for the example that revokes one.
    const keys = gateway.app.get(ApiKeysService);
    const spare = await keys.issue({ description: 'spare' }, project.id);
    const user = await gateway.app.get(AdminUsersService).create('docs-viewer', 'docs-viewer-password', 'viewer');
    const token = await adminToken(gateway);
    const pathValues: Readonly<Record<string, string>> = {
      projects: project.id,
      apikeys: spare.entity.id,
      users: user.id,
      webhooks: (
        await gateway.app
          .get(WebhooksService)
          .create({ url: 'https://ops.example.com/hooks/gateway', events: ['write-behind.failed'] })
      ).entity.id,
      instances: instances['openai-gpt-4o-eu'],
      projectId: project.id,
      apiType: 'MODEL',
      businessId: 'openai-gpt-4o-eu',
    };
    const documented = new DocumentedAnswers(document as unknown as ApiDocument);
    const problems: string[] = [];
    for (const operation of operations) {
      const media = mediaOf(operation);
      if (!media) continue;
      const path = operation.path.replace(/\{(\w+)\}/g, (_all, name: string) => {
        const collection = operation.path.split(`/{${name}}`)[0].split('/').pop()!;
        return pathValues[name === 'id' ? collection : name];
      });
      const scheme = Object.keys(operation.operation.security?.[0] ?? {})[0];
      for (const [name, example] of Object.entries(media.examples ?? {})) {
        const res = await gateway
          .http()
          [operation.method.toLowerCase() as 'post']?.(path)
          .set(
            scheme === 'api-key' ? { 'api-key': project.apiKey } : scheme ? { authorization: `Bearer ${token}` } : {},
          )
          .send(example.value as object);
        const answer = { status: res.status, contentType: String(res.headers['content-type']), text: res.text };
        if (res.status === 400 || res.status >= 500) {
          problems.push(`${operation.name} example ${name}: ${res.status} ${res.text.slice(0, 300)}`);
        }
        problems.push(...documented.problems(operation, operation.method, path, answer));
      }
    }
    expect(problems).toEqual([]);
  });
});

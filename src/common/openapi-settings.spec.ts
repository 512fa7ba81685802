import type { OpenAPIObject } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { checkInstanceJson } from '../registry/routing-params';
import { BreakerSettings, ProjectSettings, QuotaSettings } from '../tenancy/project-settings';
import { typeSettings } from './openapi-settings';

const BOUNDS = { maxLeaseTtlMs: 900_000 };

type Schema = { type?: string; minimum?: number; maximum?: number; enum?: unknown[]; pattern?: string; $ref?: string };
type Component = { properties: Record<string, Schema>; additionalProperties?: unknown };

function typedDocument(): Record<string, Component> {
  const document = {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: {},
    components: {
      schemas: {
        ProjectSettings: { type: 'object', properties: {} },
        InstanceDto: {
          type: 'object',
          properties: { routingParams: { type: 'object', additionalProperties: true, description: 'kept' } },
        },
      },
    },
  } as unknown as OpenAPIObject;
  typeSettings(document, BOUNDS);
  return document.components!.schemas as unknown as Record<string, Component>;
}

/** What class-validator checks of each property of a settings class, as the schema must say it. */
function expectedOf(target: new () => object, nested: Record<string, string>): Record<string, Schema> {
  const expected: Record<string, Schema> = {};
  for (const rule of getMetadataStorage().getTargetValidationMetadatas(target, '', true, false)) {
    const schema = (expected[rule.propertyName] ??= {});
    const [constraint] = (rule.constraints ?? []) as unknown[];
    if (rule.type === 'nestedValidation') schema.$ref = `#/components/schemas/${nested[rule.propertyName]}`;
    else if (rule.name === 'isInt') schema.type = 'integer';
    else if (rule.name === 'min') schema.minimum = constraint as number;
    else if (rule.name === 'max') schema.maximum = constraint as number;
    else if (rule.name === 'isIn') schema.enum = constraint as unknown[];
    else if (rule.name === 'matches') Object.assign(schema, { type: 'string', pattern: (constraint as RegExp).source });
    else if (rule.name !== 'isOptional')
      throw new Error(`${target.name}.${rule.propertyName}: no rule for ${rule.name}`);
  }
  return expected;
}

/** The keywords of a documented property that class-validator metadata can say. */
function comparable(schema: Schema): Schema {
  const { type, minimum, maximum, enum: values, pattern, $ref } = schema;
  return Object.fromEntries(
    Object.entries({ type: values ? undefined : type, minimum, maximum, enum: values, pattern, $ref }).filter(
      ([, value]) => value !== undefined,
    ),
  );
}

describe('typeSettings', () => {
  it('documents BreakerSettings, QuotaSettings and ProjectSettings as class-validator checks them', () => {
    const schemas = typedDocument();
    const nested = { breaker: 'BreakerSettings', quotas: 'QuotaSettings' };
    const cases: [string, new () => object][] = [
      ['BreakerSettings', BreakerSettings],
      ['QuotaSettings', QuotaSettings],
      ['ProjectSettings', ProjectSettings],
    ];
    for (const [name, target] of cases) {
      const documented = Object.fromEntries(
        Object.entries(schemas[name].properties).map(([key, schema]) => [key, comparable(schema)]),
      );
      const expected = expectedOf(target, nested);
      // The lease TTL's upper bound is the operator's (GATEWAY_MAX_LEASE_TTL_MS), checked beside the decorators.
      if (name === 'QuotaSettings') expected.leaseTtlMs.maximum = BOUNDS.maxLeaseTtlMs;
      expect([name, documented]).toEqual([name, expected]);
    }
  });

  it('documents every known routing parameter with the bounds checkInstanceJson enforces, and allows other keys', () => {
    const routing = typedDocument().RoutingParams;
    expect(routing.additionalProperties).toBe(true);
    const errorsOf = (params: Record<string, unknown>) =>
      checkInstanceJson({ routingParams: params }, '', BOUNDS).map((error) => error.field);
    for (const [key, schema] of Object.entries(routing.properties)) {
      if (key === 'breaker') continue;
      const min = schema.minimum!;
      const max = schema.maximum ?? 1e12;
      const accepted = [min, max, ...(schema.type === 'number' ? [min + 0.5] : [])];
      const refused = [
        min - 1,
        'x',
        null,
        ...(schema.type === 'integer' ? [min + 0.5] : []),
        ...(schema.maximum ? [max + 1] : []),
      ];
      for (const value of accepted) expect([key, value, errorsOf({ [key]: value })]).toEqual([key, value, []]);
      for (const value of refused) {
        expect([key, value, errorsOf({ [key]: value })]).toEqual([key, value, [`routingParams.${key}`]]);
      }
    }
    expect(routing.properties.breaker).toEqual({ $ref: '#/components/schemas/BreakerSettings' });
    expect(errorsOf({ breaker: { consecutiveFailures: 0 } })).toEqual(['routingParams.breaker.consecutiveFailures']);
    expect(errorsOf({ region: -1, label: 'x' })).toEqual([]);
  });

  it('references RoutingParams from every routingParams property, keeping its description', () => {
    expect(typedDocument().InstanceDto.properties.routingParams).toEqual({
      description: 'kept',
      allOf: [{ $ref: '#/components/schemas/RoutingParams' }],
    });
  });

  it('leaves a ProjectSettings that has properties alone', () => {
    const document = {
      paths: {},
      components: { schemas: { ProjectSettings: { type: 'object', properties: { a: { type: 'string' } } } } },
    } as unknown as OpenAPIObject;
    typeSettings(document, BOUNDS);
    expect(document.components!.schemas!.ProjectSettings).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
    });
  });
});

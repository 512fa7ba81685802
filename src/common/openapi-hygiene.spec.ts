import type { OpenAPIObject } from '@nestjs/swagger';
import {
  declarePublicOperations,
  dropQueryParametersShadowedByPath,
  nameSharedEnums,
  typeErrorTypeAsOutcomeClass,
} from './openapi-hygiene';

function documentWith(operation: Record<string, unknown>): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: { '/things/{projectId}': { get: operation } },
  } as unknown as OpenAPIObject;
}

describe('dropQueryParametersShadowedByPath', () => {
  it('keeps the path parameter and drops the same-named query one, leaving the others', () => {
    const document = documentWith({
      parameters: [
        { name: 'projectId', in: 'path', required: true },
        { name: 'status', in: 'query' },
        { name: 'projectId', in: 'query' },
      ],
      responses: {},
    });
    dropQueryParametersShadowedByPath(document);
    expect(document.paths['/things/{projectId}'].get?.parameters).toEqual([
      { name: 'projectId', in: 'path', required: true },
      { name: 'status', in: 'query' },
    ]);
  });
});

describe('declarePublicOperations', () => {
  it('marks an operation without a requirement public and leaves a declared one alone', () => {
    const open = documentWith({ responses: {} });
    const guarded = documentWith({ responses: {}, security: [{ 'api-key': [] }] });
    declarePublicOperations(open);
    declarePublicOperations(guarded);
    expect(open.paths['/things/{projectId}'].get?.security).toEqual([]);
    expect(guarded.paths['/things/{projectId}'].get?.security).toEqual([{ 'api-key': [] }]);
  });
});

describe('nameSharedEnums', () => {
  it('replaces inline enums of the named values by a reference, keeping description, example and nullable', () => {
    const document = {
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/a': {
          get: {
            parameters: [{ name: 'apiType', in: 'query', schema: { type: 'string', enum: ['B', 'A'] } }],
            responses: {},
          },
        },
      },
      components: {
        schemas: {
          Dto: {
            type: 'object',
            properties: {
              kind: { type: 'string', enum: ['A', 'B'], description: 'the kind', example: 'A' },
              maybe: { type: 'string', enum: ['A', 'B'], nullable: true },
              other: { type: 'string', enum: ['A', 'C'] },
              bounded: { type: 'string', enum: ['A', 'B'], minLength: 1 },
            },
          },
        },
      },
    } as unknown as OpenAPIObject;
    nameSharedEnums(document, { Kind: ['A', 'B'] });
    const ref = { $ref: '#/components/schemas/Kind' };
    const dto = document.components!.schemas!.Dto as { properties: Record<string, unknown> };
    expect(dto.properties).toEqual({
      kind: { description: 'the kind', example: 'A', allOf: [ref] },
      maybe: { nullable: true, allOf: [ref] },
      other: { type: 'string', enum: ['A', 'C'] },
      bounded: { type: 'string', enum: ['A', 'B'], minLength: 1 },
    });
    expect((document.paths['/a'].get!.parameters![0] as { schema: unknown }).schema).toEqual({ allOf: [ref] });
    expect(document.components!.schemas!.Kind).toEqual({ type: 'string', enum: ['A', 'B'] });
  });
});

describe('typeErrorTypeAsOutcomeClass', () => {
  it("documents a report's errorType as an outcome class or any label, null included", () => {
    const document = {
      paths: {},
      components: {
        schemas: {
          ReportResultDto: { properties: { errorType: { type: 'string', nullable: true, description: 'x' } } },
        },
      },
    } as unknown as OpenAPIObject;
    typeErrorTypeAsOutcomeClass(document);
    const report = document.components!.schemas!.ReportResultDto as { properties: Record<string, { anyOf?: unknown }> };
    expect(report.properties.errorType.anyOf).toEqual([
      { $ref: '#/components/schemas/OutcomeClass' },
      { type: 'string', nullable: true },
    ]);
  });
});

import type { OpenAPIObject } from '@nestjs/swagger';
import { declarePublicOperations, dropQueryParametersShadowedByPath } from './openapi-hygiene';

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

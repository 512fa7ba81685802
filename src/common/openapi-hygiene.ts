import type { OpenAPIObject } from '@nestjs/swagger';

/** The HTTP methods an OpenAPI path item can hold operations under. */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface ParameterLike {
  readonly name?: string;
  readonly in?: string;
}

type OperationLike = { parameters?: ParameterLike[]; security?: Record<string, string[]>[] };

/** Every operation of the document, whatever its path and method. */
function operationsOf(document: OpenAPIObject): OperationLike[] {
  return Object.values(document.paths).flatMap((item) =>
    METHODS.map((method) => item[method] as OperationLike | undefined).filter((op) => op !== undefined),
  );
}

/**
 * Removes a query parameter declared under the same name as one of the operation's path
 * parameters. Routes such as `GET /admin/instances/project/:projectId` reuse the list's query DTO,
 * which also has `projectId`; the path value wins at run time, so the query field is meaningless
 * there, and declaring both makes generators that turn parameters into one argument object emit a
 * duplicate identifier (openapi-typescript-codegen: TS2300, issue #16). Only the document changes:
 * the server still accepts and validates the query field as before.
 */
export function dropQueryParametersShadowedByPath(document: OpenAPIObject): void {
  for (const operation of operationsOf(document)) {
    const parameters = operation.parameters;
    if (!parameters) continue;
    const pathNames = new Set(parameters.filter((p) => p.in === 'path').map((p) => p.name));
    operation.parameters = parameters.filter((p) => p.in !== 'query' || !pathNames.has(p.name));
  }
}

/**
 * States explicitly that operations with no security requirement (health probes, project sign-up,
 * admin login) are public: `security: []`. The document has no root-level requirement, so the
 * meaning is unchanged, but validators (Redocly's `security-defined`) and readers no longer have to
 * guess whether a requirement was forgotten.
 */
export function declarePublicOperations(document: OpenAPIObject): void {
  for (const operation of operationsOf(document)) {
    operation.security ??= [];
  }
}

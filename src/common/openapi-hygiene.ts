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

/** Keywords a schema may carry besides its enum and still be replaced by a reference to a named one. */
const ENUM_SIBLINGS = new Set(['type', 'enum', 'description', 'nullable', 'example']);

type SchemaLike = Record<string, unknown>;

/**
 * Replaces every inline schema whose `enum` holds exactly the values of one of `named` by a
 * reference to a component of that name (created here): `{ allOf: [{ $ref }] }`, keeping its
 * description, example and `nullable`. Generators then emit one `ApiType` type shared by every
 * operation and DTO instead of one incompatible inline union per property (issue #16). Schemas
 * with other keywords beside the enum are left inline; the values and so the validation are
 * unchanged.
 */
export function nameSharedEnums(document: OpenAPIObject, named: Readonly<Record<string, readonly string[]>>): void {
  const keys = Object.entries(named).map(([name, values]) => [name, [...values].sort().join('\u0000')] as const);
  const nameOf = (values: unknown[]): string | undefined => {
    const key = values
      .filter((value) => value !== null)
      .map(String)
      .sort()
      .join('\u0000');
    return keys.find(([, candidate]) => candidate === key)?.[0];
  };
  const replace = (node: SchemaLike): SchemaLike => {
    if (!Array.isArray(node.enum) || Object.keys(node).some((keyword) => !ENUM_SIBLINGS.has(keyword))) return node;
    const name = nameOf(node.enum as unknown[]);
    if (name === undefined) return node;
    const { type: _type, enum: _enum, ...kept } = node;
    return { ...kept, allOf: [{ $ref: `#/components/schemas/${name}` }] };
  };
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const node = replace(value as SchemaLike);
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
  };
  document.paths = walk(document.paths) as OpenAPIObject['paths'];
  const components = (document.components ??= {});
  components.schemas = walk(components.schemas ?? {}) as NonNullable<typeof components.schemas>;
  for (const [name, values] of Object.entries(named)) components.schemas[name] = { type: 'string', enum: [...values] };
}

/**
 * `ReportResultDto.errorType` takes an outcome class or any label (an exception's class name):
 * documented as `OutcomeClass | string`, so generated clients offer the classes and still take a
 * label. The `OutcomeClass` component must exist (see {@link nameSharedEnums}).
 */
export function typeErrorTypeAsOutcomeClass(document: OpenAPIObject): void {
  const report = document.components?.schemas?.ReportResultDto as
    { properties?: Record<string, SchemaLike> } | undefined;
  const errorType = report?.properties?.errorType;
  if (errorType === undefined || errorType.anyOf !== undefined) return;
  report!.properties!.errorType = {
    description:
      "An outcome class (`OutcomeClass`: how the gateway counts the call) or a label such as an exception's class " +
      'name, which the gateway classifies; any length, of which the first 256 characters are kept.',
    anyOf: [
      { $ref: '#/components/schemas/OutcomeClass' },
      { type: 'string', ...(errorType.nullable === true ? { nullable: true } : {}) },
    ],
  };
}

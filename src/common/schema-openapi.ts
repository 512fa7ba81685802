import type { ApiPropertyOptions, SchemaObject } from '@nestjs/swagger';

/** A JSON schema as ajv reads it (draft-07 with `type: ['string', 'null']` unions). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/**
 * The JSON schema of a hot-path body whose TypeScript type is T: `properties` must name exactly
 * T's fields and `required` only T's non-optional ones, so the class and its schema cannot differ
 * in which fields exist (checked by `satisfies BodySchema<T>` at compile time).
 */
export type BodySchema<T> = {
  readonly type: 'object' | readonly ['object', 'null'];
  readonly required?: readonly RequiredKeys<T>[];
  readonly additionalProperties?: boolean;
  readonly properties: { readonly [K in keyof T]-?: JsonSchema };
};

/** Keywords copied unchanged into OpenAPI: they mean the same in JSON Schema and OpenAPI 3.0. */
const SHARED_KEYWORDS = [
  'description',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
] as const;

/** Keywords handled below; any other fails at start-up rather than going undocumented. */
const KNOWN_KEYWORDS = new Set<string>([
  ...SHARED_KEYWORDS,
  'type',
  'enum',
  'items',
  'properties',
  'required',
  'examples',
]);

/** Looks up the DTO class whose schema this object is, to reference its OpenAPI component. */
export type ClassOfSchema = (schema: JsonSchema) => (new () => unknown) | undefined;

/**
 * The `@ApiProperty()` options documenting one property of a JSON schema, in OpenAPI 3.0 terms:
 * a `[type, 'null']` union becomes `nullable`, a `null` enum member is dropped (nullable says it),
 * an object schema becomes a reference to its DTO class's component (so the component keeps its
 * name). Throws on what it cannot translate exactly: the document must say what ajv enforces.
 */
export function apiPropertyOptions(
  name: string,
  schema: JsonSchema,
  required: boolean,
  classOf: ClassOfSchema,
): ApiPropertyOptions {
  const { type, nullable } = splitType(name, schema.type);
  const options: Record<string, unknown> = { required, ...openApiKeywords(name, schema) };
  if (nullable) options.nullable = true;
  if (type === 'object') {
    options.type = dtoClass(name, schema, classOf);
    return options;
  }
  const items = schema.items as JsonSchema | undefined;
  if (type === 'array' && items && splitType(`${name}[]`, items.type).type === 'object') {
    options.type = [dtoClass(`${name}[]`, items, classOf)];
    return options;
  }
  options.type = type;
  if (items) options.items = itemSchema(`${name}[]`, items);
  return options;
}

/** The schema of an array's scalar items, inline (OpenAPI has no nested `@ApiProperty`). */
function itemSchema(name: string, schema: JsonSchema): SchemaObject {
  const { type, nullable } = splitType(name, schema.type);
  if (nullable || schema.items) throw new Error(`${name}: nullable or nested array items are not translated`);
  return { type, ...openApiKeywords(name, schema) };
}

function openApiKeywords(name: string, schema: JsonSchema): Record<string, unknown> {
  const unknown = Object.keys(schema).filter((keyword) => !KNOWN_KEYWORDS.has(keyword));
  if (unknown.length > 0) throw new Error(`${name}: no OpenAPI translation for ${unknown.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const keyword of SHARED_KEYWORDS) if (schema[keyword] !== undefined) out[keyword] = schema[keyword];
  if (Array.isArray(schema.enum)) out.enum = schema.enum.filter((value) => value !== null);
  // JSON Schema's `examples` (an annotation ajv ignores) is OpenAPI 3.0's single `example`: the
  // value Swagger UI puts in "Try it out" instead of one generated from the pattern.
  if (Array.isArray(schema.examples) && schema.examples.length > 0) out.example = schema.examples[0];
  return out;
}

function splitType(name: string, type: unknown): { type: string; nullable: boolean } {
  if (typeof type === 'string') return { type, nullable: false };
  if (Array.isArray(type) && type.length === 2 && type.includes('null')) {
    const [other] = type.filter((member) => member !== 'null') as string[];
    return { type: other, nullable: true };
  }
  throw new Error(`${name}: type ${JSON.stringify(type)} has no OpenAPI 3.0 equivalent`);
}

function dtoClass(name: string, schema: JsonSchema, classOf: ClassOfSchema): new () => unknown {
  const dto = classOf(schema);
  if (!dto) throw new Error(`${name}: a nested object schema must be a @SchemaValidated() class's (declared first)`);
  return dto;
}

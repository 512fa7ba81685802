import type { PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import Ajv, { type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import type { FieldError } from './gateway-error';
import { apiPropertyOptions, type JsonSchema } from './schema-openapi';
import { validationError } from './validation';

const SCHEMA_VALIDATED = Symbol('gateway:schema-validated');

/** Schema → its class, so a nested object schema is documented as a reference to its component. */
const classBySchema = new WeakMap<object, new () => unknown>();

/**
 * Makes a JSON schema the one definition of a hot-path body: {@link SchemaPipe} compiles it
 * (ajv, about twice the throughput of class-validator), and the same schema is written onto the
 * class as its `@ApiProperty()` metadata, so the OpenAPI component (named after the class) shows
 * every bound, `null` and enum the validator enforces. The global validation pipe leaves the class
 * alone. Property descriptions still come from the fields' JSDoc (swagger CLI plugin). A nested
 * object schema must be another `@SchemaValidated()` class's, declared before it.
 *
 * @example
 * export const reportResultSchema = { … } as const satisfies BodySchema<ReportResultDto>;
 * @SchemaValidated(reportResultSchema)
 * export class ReportResultDto { … }
 * // the handler: @ApiBody({ type: ReportResultDto }) and new SchemaPipe(schemaOf(ReportResultDto))
 */
export const SchemaValidated =
  (schema: JsonSchema): ClassDecorator =>
  (target) => {
    const required = new Set((schema.required as readonly string[] | undefined) ?? []);
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const [name, property] of Object.entries(properties)) {
      const options = apiPropertyOptions(name, property, required.has(name), (nested) => classBySchema.get(nested));
      ApiProperty(options)(target.prototype as object, name);
    }
    // Class-level keywords ride on @ApiSchema's metadata, which the swagger module merges into the component.
    if (schema.additionalProperties !== undefined) {
      ApiSchema({ additionalProperties: schema.additionalProperties } as ApiSchemaOptions)(target);
    }
    Reflect.defineMetadata(SCHEMA_VALIDATED, schema, target);
    classBySchema.set(schema, target as unknown as new () => unknown);
  };

/** Whether a class is a `@SchemaValidated()` body (the global validation pipe skips those). */
export function isSchemaValidated(metatype: unknown): boolean {
  return typeof metatype === 'function' && Reflect.getOwnMetadata(SCHEMA_VALIDATED, metatype) !== undefined;
}

/** The JSON schema a `@SchemaValidated()` class is validated with (and documented from). */
export function schemaOf(dto: abstract new () => unknown): JsonSchema {
  const schema = Reflect.getOwnMetadata(SCHEMA_VALIDATED, dto) as JsonSchema | undefined;
  if (!schema) throw new Error(`${dto.name} is not @SchemaValidated()`);
  return schema;
}

// Union types (`['string', 'null']`) are how optional fields accept the nulls Java clients send.
const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, strict: true, allowUnionTypes: true });

/**
 * Validates a body against a JSON schema compiled once by ajv: about twice the throughput of
 * class-transformer + class-validator on the hot path. Failures are the usual 400
 * `VALIDATION_FAILED` with one entry per field.
 */
export class SchemaPipe<T> implements PipeTransform<unknown, T> {
  private readonly validate: ValidateFunction<T>;

  constructor(schema: JSONSchemaType<T> | Record<string, unknown>) {
    this.validate = ajv.compile<T>(schema);
  }

  /** The schema compiled: what this pipe enforces (the OpenAPI drift test reads it). */
  get schema(): JsonSchema {
    return this.validate.schema as JsonSchema;
  }

  transform(value: unknown): T {
    if (this.validate(value)) return value;
    throw validationError(toFieldErrors(this.validate.errors ?? []));
  }
}

/** ajv errors as dotted field paths (`results.3.latencyMs`), one entry per field. */
export function toFieldErrors(errors: readonly ErrorObject[]): FieldError[] {
  const byField = new Map<string, string[]>();
  for (const error of errors) {
    const base = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const missing = error.keyword === 'required' ? String(error.params.missingProperty) : undefined;
    const field = missing ? (base ? `${base}.${missing}` : missing) : base || '(body)';
    const message = missing ? `${field} is required` : `${field} ${error.message ?? 'is invalid'}`;
    byField.set(field, [...(byField.get(field) ?? []), message]);
  }
  return [...byField.entries()].map(([field, messages]) => ({ field, message: [...new Set(messages)].join('; ') }));
}

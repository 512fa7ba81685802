import { ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import { ValidateIf, type ValidationError } from 'class-validator';
import { type FieldError, GatewayError } from './gateway-error';

/**
 * Flattens class-validator's nested errors into one entry per field, with a dotted path
 * (`instances.3.apiType`) and every broken constraint of that field in its message.
 */
export function flattenValidationErrors(errors: readonly ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    const own = messages.length > 0 ? [{ field, message: messages.join('; ') }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

export function validationError(details: readonly FieldError[]): GatewayError {
  const first = details[0];
  const summary = first
    ? `${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`
    : 'Invalid request';
  return new GatewayError('VALIDATION_FAILED', summary, { details });
}

/**
 * A property that may be left out but not sent as null (`@IsOptional()` lets null through, and a
 * NOT NULL column then refuses it with a 500): validated whenever it is present.
 *
 * @example
 * @Omittable() @IsString() @Length(2, 50) name?: string;
 */
export const Omittable = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);

/**
 * Where a body holds an object key named `constructor`, at any depth: class-transformer, which
 * turns bodies into DTOs, takes such a key for the object's class and throws a TypeError (a 500).
 * No field of the API is called so; the body is refused naming the first such key. `__proto__` and
 * `constructor.prototype` never get here: the JSON parser refuses them.
 *
 * @example
 * reservedKeyErrors({ routingParams: { constructor: [] } }, 'instances.0');
 * // [{ field: 'instances.0.routingParams.constructor', message: … }]
 */
export function reservedKeyErrors(value: unknown, path = ''): FieldError[] {
  if (typeof value !== 'object' || value === null) return [];
  const at = (key: string | number): string => (path ? `${path}.${key}` : String(key));
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const errors = reservedKeyErrors(value[i], at(i));
      if (errors.length > 0) return errors;
    }
    return [];
  }
  if (Object.hasOwn(value, 'constructor')) {
    const field = at('constructor');
    return [{ field, message: `${field}: "constructor" is not allowed as a key` }];
  }
  for (const [key, child] of Object.entries(value)) {
    const errors = reservedKeyErrors(child, at(key));
    if (errors.length > 0) return errors;
  }
  return [];
}

/**
 * The validation pipe for the gateway's own endpoints: unknown properties are rejected.
 * [compat] endpoints use {@link lenientValidationPipe}, because the reference ignored them.
 */
export function strictValidationPipe(overrides: ValidationPipeOptions = {}): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => validationError(flattenValidationErrors(errors)),
    ...overrides,
  });
}

/** Strips unknown properties instead of rejecting them ([compat] request shapes). */
export function lenientValidationPipe(): ValidationPipe {
  return strictValidationPipe({ forbidNonWhitelisted: false });
}

import { ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
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

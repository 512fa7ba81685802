import { type ArgumentMetadata, Injectable, type PipeTransform, type Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { isSchemaValidated } from './schema-validation';
import { lenientValidationPipe, reservedKeyErrors, strictValidationPipe, validationError } from './validation';

const LENIENT = Symbol('gateway:lenient-dto');

/**
 * Marks a DTO of a [compat] endpoint: unknown properties are stripped, not rejected, because
 * the reference gateway ignored them and its clients send extra fields.
 *
 * @example
 * @Lenient()
 * export class ReportResultDto { … }
 */
export const Lenient = (): ClassDecorator => (target) => {
  Reflect.defineMetadata(LENIENT, true, target);
};

/**
 * The global validation pipe: strict for new endpoints, lenient for `@Lenient()` DTOs, and out of
 * the way of `@SchemaValidated()` hot-path DTOs.
 */
@Injectable()
export class GatewayValidationPipe implements PipeTransform {
  private readonly strict = strictValidationPipe();
  private readonly lenient = lenientValidationPipe();

  /** Per DTO class: which validation it gets (metadata lookups walk prototype chains). */
  private readonly modes = new WeakMap<object, 'schema' | 'lenient' | 'strict'>();

  /** Per DTO class: whether it declares an `apiKey` property of its own. */
  private readonly apiKeyFields = new WeakMap<object, boolean>();

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const mode = this.modeOf(metadata.metatype);
    if (mode === 'schema') return value;
    const reserved = metadata.type === 'body' ? reservedKeyErrors(value) : [];
    if (reserved.length > 0) throw validationError(reserved);
    const input = metadata.type === 'query' ? this.withoutCredential(value, metadata.metatype) : value;
    return (mode === 'lenient' ? this.lenient : this.strict).transform(input, metadata);
  }

  /**
   * `?apiKey=` is a documented way to send the key [compat]: a credential the guard has read, not
   * a filter. A query DTO that does not declare it never sees it, so a strict one does not refuse it.
   */
  private withoutCredential(value: unknown, metatype: Type<unknown> | undefined): unknown {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, 'apiKey')) return value;
    if (metatype !== undefined && this.declaresApiKey(metatype)) return value;
    const { apiKey: _credential, ...rest } = value as Record<string, unknown>;
    return rest;
  }

  private declaresApiKey(metatype: Type<unknown>): boolean {
    let declared = this.apiKeyFields.get(metatype);
    if (declared === undefined) {
      declared = getMetadataStorage()
        .getTargetValidationMetadatas(metatype, '', true, false)
        .some((field) => field.propertyName === 'apiKey');
      this.apiKeyFields.set(metatype, declared);
    }
    return declared;
  }

  private modeOf(metatype: Type<unknown> | undefined): 'schema' | 'lenient' | 'strict' {
    if (!metatype) return 'strict';
    let mode = this.modes.get(metatype);
    if (!mode) {
      mode = isSchemaValidated(metatype) ? 'schema' : isLenient(metatype) ? 'lenient' : 'strict';
      this.modes.set(metatype, mode);
    }
    return mode;
  }
}

function isLenient(metatype: Type<unknown> | undefined): boolean {
  // Own metadata only: a strict DTO extending a [compat] one stays strict.
  return metatype !== undefined && Reflect.getOwnMetadata(LENIENT, metatype) === true;
}

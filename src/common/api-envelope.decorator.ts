import { type Type, applyDecorators } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { ApiExtraModels, ApiProperty, ApiResponse, type ApiResponseOptions, getSchemaPath } from '@nestjs/swagger';
import { ERROR_STATUS, type ErrorCode } from './error-codes';
import { ERROR_CODES_EXTENSION } from './openapi-errors';

/** One field an error names in its `details` (`VALIDATION_FAILED` lists every invalid field). */
export class FieldErrorDto {
  @ApiProperty({ example: 'instances.0.apiType' })
  field!: string;

  @ApiProperty({ example: 'apiType must be one of MODEL, PAYMENT_GATEWAY, …' })
  message!: string;
}

/** The success envelope without `data`; routes add a typed `data` with {@link ApiEnvelope}. */
export class SuccessEnvelopeDto {
  @ApiProperty({ enum: [200], example: 200 })
  code!: number;

  @ApiProperty({ example: 'success' })
  message!: string;

  @ApiProperty({ description: 'Server time, epoch milliseconds', example: 1767225600000 })
  timestamp!: number;
}

export interface ApiEnvelopeOptions {
  readonly isArray?: boolean;
  readonly description?: string;
}

/**
 * Documents a 200 response as the success envelope whose `data` is `model` (or nothing), so
 * generated clients get a typed `data`.
 *
 * @example
 * @ApiEnvelope(ProjectDto)
 * @Get('current') current(): Promise<ProjectDto> { … }
 */
export function ApiEnvelope(model?: Type<unknown>, options: ApiEnvelopeOptions = {}): MethodDecorator {
  const primitive = model === Number ? { type: 'integer' } : model === Boolean ? { type: 'boolean' } : undefined;
  const item = primitive ?? (model ? { $ref: getSchemaPath(model) } : undefined);
  const data = item && options.isArray ? { type: 'array', items: item } : item;
  const schema = data
    ? {
        allOf: [
          { $ref: getSchemaPath(SuccessEnvelopeDto) },
          { type: 'object', required: ['data'], properties: { data } },
        ],
      }
    : { $ref: getSchemaPath(SuccessEnvelopeDto) };
  return applyDecorators(
    ApiExtraModels(SuccessEnvelopeDto, ...(model && !primitive ? [model] : [])),
    ApiResponse({ status: 200, description: options.description ?? 'Success', schema }),
  );
}

/** Where the codes declared on a handler accumulate (several decorators may declare some). */
const DECLARED_ERRORS = 'gateway:api-errors';

/**
 * Documents the error codes a route's handler answers (beyond those every route of its kind
 * answers: see `impliedErrorCodes`). Declarations add up: `@Authenticated()` declares its own,
 * on the class or the method, and a class-level declaration applies to every route of the class.
 * Each error response carries the codes for `documentErrors` (`common/swagger.ts`), which writes
 * the typed envelopes and examples.
 *
 * @example
 * @ApiErrors('VALIDATION_FAILED', 'INSTANCE_NOT_FOUND')
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor) {
      declareErrors(target, key!, descriptor, codes);
      return;
    }
    // Class decorators run after the methods': every route handler is known by now. A response
    // declared on the class would be hidden by a method's response of the same status.
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name);
      const handler = method?.value as unknown;
      if (name === 'constructor' || typeof handler !== 'function') continue;
      if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
      declareErrors(prototype, name, method!, codes);
    }
  };
}

function declareErrors(target: object, key: string | symbol, descriptor: PropertyDescriptor, codes: ErrorCode[]): void {
  const handler = descriptor.value as object;
  const all = [
    ...new Set([...((Reflect.getMetadata(DECLARED_ERRORS, handler) as ErrorCode[] | undefined) ?? []), ...codes]),
  ];
  Reflect.defineMetadata(DECLARED_ERRORS, all, handler);
  for (const status of new Set(all.map((code) => ERROR_STATUS[code]))) {
    // Replaces this status's response: it carries every code declared so far.
    ApiResponse({
      status,
      description: 'Error',
      [ERROR_CODES_EXTENSION]: all.filter((code) => ERROR_STATUS[code] === status),
    } as ApiResponseOptions)(target, key, descriptor);
  }
}

import { type Type, applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ERROR_STATUS, type ErrorCode } from './error-codes';

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

export class ErrorEnvelopeDto {
  @ApiProperty({ description: 'The HTTP status', example: 404 })
  code!: number;

  @ApiProperty({ example: 'Instance 9f… not found' })
  message!: string;

  @ApiProperty({ description: 'Stable machine code', enum: Object.keys(ERROR_STATUS), example: 'NOT_FOUND' })
  error!: string;

  @ApiPropertyOptional({
    description: 'Field errors (an array) or a structured hint such as `{ "retryAfterMs": 1200 }`',
    oneOf: [
      { type: 'array', items: { $ref: '#/components/schemas/FieldErrorDto' } },
      { type: 'object', additionalProperties: true },
    ],
  })
  details?: FieldErrorDto[] | Record<string, unknown>;

  @ApiProperty({ example: '4f1c0c3e8b7d4a0e9c2b5d6e7f8a9b0c' })
  requestId!: string;

  @ApiProperty({ example: 1767225600000 })
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
    ApiExtraModels(SuccessEnvelopeDto, ErrorEnvelopeDto, FieldErrorDto, ...(model && !primitive ? [model] : [])),
    ApiResponse({ status: 200, description: options.description ?? 'Success', schema }),
  );
}

/**
 * Documents the error responses a route can give, grouped by HTTP status.
 *
 * @example
 * @ApiErrors('VALIDATION_FAILED', 'NOT_FOUND')
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto, FieldErrorDto),
    ...[...byStatus.entries()].map(([status, group]) =>
      ApiResponse({
        status,
        description: `Error envelope; \`error\` is one of: ${group.join(', ')}`,
        schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
      }),
    ),
  );
}

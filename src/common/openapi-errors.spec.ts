import { Controller, Get, Post } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv from 'ajv';
import { MAX_TRIED_LISTED } from '../selection/selection-errors';
import { ApiErrors } from './api-envelope.decorator';
import { ERROR_STATUS, type ErrorCode } from './error-codes';
import {
  ERROR_CODES_EXTENSION,
  documentErrors,
  documentedErrorCodes,
  errorComponentName,
  impliedErrorCodes,
} from './openapi-errors';

/** Where `@ApiResponse()` keeps a handler's responses (`DECORATORS.API_RESPONSE` of @nestjs/swagger, not exported). */
const API_RESPONSE = 'swagger/apiResponse';

const ALL_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

function documentOf(operations: Record<string, Record<string, unknown>>): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: { '/things/{id}': operations },
    components: { schemas: { FieldErrorDto: { type: 'object' } } },
  };
}

/** The responses `@ApiErrors()` leaves on an operation: the declared codes, by status. */
const declared = (...codes: ErrorCode[]) =>
  Object.fromEntries(
    [...new Set(codes.map((code) => ERROR_STATUS[code]))].map((status) => [
      String(status),
      { description: 'Error', [ERROR_CODES_EXTENSION]: codes.filter((code) => ERROR_STATUS[code] === status) },
    ]),
  );

describe('errorComponentName', () => {
  it('names the envelope of a code after it, once "Error"', () => {
    expect(errorComponentName('THROTTLED')).toBe('ThrottledError');
    expect(errorComponentName('API_KEY_MISSING')).toBe('ApiKeyMissingError');
    expect(errorComponentName('INTERNAL_ERROR')).toBe('InternalError');
  });

  it('gives every code its own name', () => {
    expect(new Set(ALL_CODES.map(errorComponentName)).size).toBe(ALL_CODES.length);
  });
});

describe('impliedErrorCodes', () => {
  it('adds what an operation answers for what it is: throttling, its credentials, its body and parameters', () => {
    expect(impliedErrorCodes({})).toEqual(['THROTTLED', 'INTERNAL_ERROR']);
    expect(impliedErrorCodes({ security: [{ 'api-key': [] }] })).toEqual(
      expect.arrayContaining(['API_KEY_MISSING', 'INVALID_API_KEY', 'API_KEY_NOT_BOUND', 'PROJECT_INACTIVE']),
    );
    expect(impliedErrorCodes({ security: [{ 'admin-jwt': [] }] })).toEqual(
      expect.arrayContaining(['ADMIN_TOKEN_MISSING', 'INVALID_ADMIN_TOKEN']),
    );
    expect(impliedErrorCodes({ requestBody: {} })).toEqual(
      expect.arrayContaining([
        'VALIDATION_FAILED',
        'INVALID_JSON',
        'BODY_TOO_DEEP',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
      ]),
    );
    expect(impliedErrorCodes({ parameters: [{ in: 'path', name: 'id' }] })).toEqual(
      expect.arrayContaining(['VALIDATION_FAILED', 'INVALID_URL', 'URI_TOO_LONG']),
    );
    expect(impliedErrorCodes({ parameters: [{ in: 'query', name: 'page' }] })).toContain('VALIDATION_FAILED');
  });
});

describe('documentErrors', () => {
  it('writes, per status, the declared and implied codes as references to one envelope component each', () => {
    const document = documentOf({
      post: {
        security: [{ 'admin-jwt': [] }],
        parameters: [{ in: 'path', name: 'id' }],
        responses: { 200: { description: 'Success' }, ...declared('INSTANCE_NOT_FOUND', 'ADMIN_ROLE_REQUIRED') },
      },
      get: {
        security: [{ 'admin-jwt': [] }],
        parameters: [{ in: 'path', name: 'id' }],
        responses: declared('ADMIN_ROLE_REQUIRED', 'INSTANCE_NOT_FOUND'),
      },
    });
    documentErrors(document);
    const post = document.paths['/things/{id}'].post!;
    expect(Object.fromEntries(documentedErrorCodes(document, post as never))).toEqual({
      400: ['VALIDATION_FAILED', 'INVALID_URL'],
      401: ['ADMIN_TOKEN_MISSING', 'INVALID_ADMIN_TOKEN'],
      403: ['ADMIN_ROLE_REQUIRED'],
      404: ['INSTANCE_NOT_FOUND'],
      414: ['URI_TOO_LONG'],
      429: ['THROTTLED'],
      500: ['INTERNAL_ERROR'],
    });
    // A viewer admin may read.
    const get = document.paths['/things/{id}'].get!;
    expect(documentedErrorCodes(document, get as never).get(403)).toBeUndefined();
    expect(post.responses['200']).toEqual({ description: 'Success' });
    expect(JSON.stringify(document)).not.toContain(ERROR_CODES_EXTENSION);
    const response = post.responses['401'] as { content: Record<string, { schema: unknown; examples: object }> };
    expect(response.content['application/json'].schema).toEqual({
      oneOf: [
        { $ref: '#/components/schemas/AdminTokenMissingError' },
        { $ref: '#/components/schemas/InvalidAdminTokenError' },
      ],
      discriminator: {
        propertyName: 'error',
        mapping: {
          ADMIN_TOKEN_MISSING: '#/components/schemas/AdminTokenMissingError',
          INVALID_ADMIN_TOKEN: '#/components/schemas/InvalidAdminTokenError',
        },
      },
    });
    expect(Object.keys(response.content['application/json'].examples)).toEqual([
      'ADMIN_TOKEN_MISSING',
      'INVALID_ADMIN_TOKEN',
    ]);
  });

  it('documents every code with an example that matches its envelope', () => {
    const document = documentOf({ post: { responses: declared(...ALL_CODES) } });
    documentErrors(document);
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: document.components });
    const post = document.paths['/things/{id}'].post!;
    const problems: string[] = [];
    for (const [status, codes] of documentedErrorCodes(document, post as never)) {
      const media = (post.responses[String(status)] as { content: Record<string, { examples: object }> }).content[
        'application/json'
      ];
      for (const code of codes) {
        const validate = ajv.getSchema(`doc#/components/schemas/${errorComponentName(code)}`)!;
        const example = (media.examples as Record<string, { value: unknown }>)[code].value;
        if (!validate(example)) problems.push(`${code}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...documentedErrorCodes(document, post as never).values()].flat().sort()).toEqual([...ALL_CODES].sort());
  });

  it('lists as many tried identifiers as a selection failure carries', () => {
    const document = documentOf({ post: { responses: declared('FALLBACK_EXHAUSTED') } });
    documentErrors(document);
    const details = document.components!.schemas!.SelectionFailureDetails as {
      properties: { tried: { maxItems: number } };
    };
    expect(details.properties.tried.maxItems).toBe(MAX_TRIED_LISTED);
  });
});

describe('ApiErrors', () => {
  @ApiErrors('ADMIN_TOKEN_MISSING', 'ADMIN_ROLE_REQUIRED')
  @Controller('things')
  class ThingsController {
    @Get()
    @ApiErrors('VALIDATION_FAILED')
    @ApiErrors('INSTANCE_NOT_FOUND', 'INSUFFICIENT_SCOPE')
    list(): void {}

    @Post()
    create(): void {}

    helper(): void {}
  }

  const codesOf = (handler: object) =>
    Object.fromEntries(
      Object.entries((Reflect.getMetadata(API_RESPONSE, handler) ?? {}) as Record<string, Record<string, unknown>>).map(
        ([status, response]) => [status, response[ERROR_CODES_EXTENSION]],
      ),
    );

  it('adds up the codes declared on a route and on its class, whatever the status', () => {
    expect(codesOf(ThingsController.prototype.list)).toEqual({
      400: ['VALIDATION_FAILED'],
      401: ['ADMIN_TOKEN_MISSING'],
      403: ['INSUFFICIENT_SCOPE', 'ADMIN_ROLE_REQUIRED'],
      404: ['INSTANCE_NOT_FOUND'],
    });
    expect(codesOf(ThingsController.prototype.create)).toEqual({
      401: ['ADMIN_TOKEN_MISSING'],
      403: ['ADMIN_ROLE_REQUIRED'],
    });
    expect(codesOf(ThingsController.prototype.helper)).toEqual({});
  });
});

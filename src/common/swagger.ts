import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { FieldErrorDto } from './api-envelope.decorator';
import { HTTP_LEVEL_CODES, UNROUTED_CODES, documentErrors } from './openapi-errors';
import { addBodyExamples } from './openapi-examples';
import {
  declarePublicOperations,
  dropQueryParametersShadowedByPath,
  nameSharedEnums,
  typeErrorTypeAsOutcomeClass,
} from './openapi-hygiene';
import { typeSettings } from './openapi-settings';
import { OUTCOME_CLASSES } from './outcome';
import { applyConfiguredBounds } from './openapi-limits';
import { GATEWAY_VERSION, SERVICE_NAME } from './version';

/**
 * Injection token: the enums the document names once (`ApiType`, …) and references from every
 * property and parameter that takes exactly their values. Provided by the app module.
 */
export const OPENAPI_NAMED_ENUMS = Symbol('OPENAPI_NAMED_ENUMS');

export const SWAGGER_UI_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs-json';

/**
 * The document's tags, in the order Swagger UI and generated clients list them: the call an
 * application makes first (`gateway`: select and report), then registration, then the rest.
 * Swagger UI shows a tag missing here after these.
 */
const TAG_ORDER = [
  'gateway',
  'instances',
  'projects',
  'monitoring',
  'health',
  'admin: auth',
  'admin: projects',
  'admin: api keys',
  'admin: users',
  'admin: instances',
  'admin: monitoring',
  'admin: breaker events',
] as const;

/** The OpenAPI document of the running app. Deterministic, so `openapi.json` can be diffed in CI. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(SERVICE_NAME)
    .setDescription(
      'Decides which registered backend instance an application should call, and learns from the ' +
        'outcomes it reports. Every success is HTTP 200 with `{code:200,message,data,timestamp}`; every ' +
        'error is `{code,message,error,details?,requestId,timestamp}` with HTTP status = `code`; each operation ' +
        'lists, per status, the stable `error` codes it answers, with their typed `details`. Besides those, any ' +
        `request may be answered ${HTTP_LEVEL_CODES.map((code) => `\`${code}\``).join(', ')} when its HTTP is ` +
        `malformed, a path no operation serves ${UNROUTED_CODES.map((code) => `\`${code}\``).join(' or ')}, ` +
        'and a body sent to an operation that takes none is parsed, and refused, like any other.',
    )
    .setVersion(GATEWAY_VERSION)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'api-key' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'admin-jwt')
    // Relative: Swagger UI (served by this gateway) and generators resolve it against the origin.
    .addServer('/', 'this gateway (the origin serving this document)');
  for (const tag of TAG_ORDER) config.addTag(tag);
  const document = SwaggerModule.createDocument(app, config.build(), {
    extraModels: [FieldErrorDto],
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  // Limits an operator configures are documented as this gateway enforces them.
  const appConfig = app.get<AppConfig>(APP_CONFIG, { strict: false });
  applyConfiguredBounds(document, appConfig);
  dropQueryParametersShadowedByPath(document);
  declarePublicOperations(document);
  documentErrors(document);
  typeSettings(document, appConfig.limits);
  const named = app.get<Record<string, readonly string[]> | undefined>(OPENAPI_NAMED_ENUMS, { strict: false });
  nameSharedEnums(document, { ...named, OutcomeClass: OUTCOME_CLASSES });
  typeErrorTypeAsOutcomeClass(document);
  addBodyExamples(document);
  return document;
}

export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup(SWAGGER_UI_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    yamlDocumentUrl: 'api/docs-yaml',
    customSiteTitle: `${SERVICE_NAME} — API`,
  });
}

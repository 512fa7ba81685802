import { Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AuthenticatedOptions } from '../auth/auth.decorators';
import type { GatewayAuthGuard } from '../auth/gateway-auth.guard';
import type { GatewayThrottlerGuard } from '../auth/gateway-throttler.guard';
import type { Clock } from '../common/clock';
import { sendException } from '../common/exception.filter';
import type { Principal } from '../tenancy/principal';
import { GatewayController } from './gateway.controller';
import { ReportAnswerWriter } from './report-answer';
import { DECISION_FIELDS, RECORD_FIELDS, SelectAnswerWriter } from './select-answer';

/** The hot path's routes and the controller method that answers each. */
const HOT_ROUTES: ReadonlyMap<string, 'select' | 'report' | 'reportAll'> = new Map([
  ['/api/gateway/select-instance', 'select'],
  ['/api/gateway/report-result', 'report'],
  ['/api/gateway/report-results', 'reportAll'],
]);

type HotRequest = FastifyRequest & { user?: Principal };

const STRING = { type: 'string' } as const;
const STRING_OR_NULL = { type: ['string', 'null'] } as const;
const BOOLEAN = { type: 'boolean' } as const;
const INTEGER = { type: 'integer' } as const;
const NUMBER = { type: 'number' } as const;
const ANY_OBJECT = { type: 'object', additionalProperties: true } as const;

/**
 * select-instance's 200 answer as a JSON schema, which Fastify compiles into a serializer
 * (fast-json-stringify) instead of running `JSON.stringify` per answer. It must name every field
 * of `SelectedInstanceDto`: one left out would be dropped from the answer. test/hot-path-schemas
 * holds it to the OpenAPI document's `SelectedInstanceDto`.
 */
export const SELECT_ANSWER_SCHEMA = {
  type: 'object',
  properties: {
    code: INTEGER,
    message: STRING,
    data: {
      type: 'object',
      properties: {
        id: STRING,
        projectId: STRING,
        userId: STRING_OR_NULL,
        apiIdentifier: STRING,
        apiType: STRING,
        businessId: STRING,
        routingParams: ANY_OBJECT,
        status: STRING,
        metadata: { type: ['object', 'null'], additionalProperties: true },
        endpoint: STRING_OR_NULL,
        createdAt: STRING,
        updatedAt: STRING,
        selectionId: STRING,
        strategy: STRING,
        tier: NUMBER,
        degraded: BOOLEAN,
        fallbackUsed: BOOLEAN,
        fallbackFrom: STRING_OR_NULL,
        affinityBound: BOOLEAN,
        explain: ANY_OBJECT,
      },
    },
    timestamp: INTEGER,
  },
} as const;

// The select answer's text writer knows every field of the schema, in its order (or it would drop one).
const WRITTEN_FIELDS = [...RECORD_FIELDS, ...DECISION_FIELDS, 'explain'].join();
if (Object.keys(SELECT_ANSWER_SCHEMA.properties.data.properties).join() !== WRITTEN_FIELDS) {
  throw new Error('SelectAnswerWriter does not write the fields of SELECT_ANSWER_SCHEMA');
}

/** An answer's text with its content type, when written ahead (Fastify sends a string as it is). */
const JSON_TYPE = 'application/json; charset=utf-8';

type Answer = (request: HotRequest, reply: FastifyReply) => unknown;

/** An answer sent as the text `write` makes of it, or as the object (serialized) when `write` leaves it. */
function asText<T>(produce: (request: HotRequest) => T, write: (answer: T) => string | undefined): Answer {
  return (request, reply) => {
    const answer = produce(request);
    const text = write(answer);
    if (text === undefined) return answer;
    void reply.type(JSON_TYPE);
    return text;
  };
}

/**
 * Serves select-instance and report-result(s) from Fastify directly (ADR 0012). Nest still
 * declares, documents and registers these routes — the controller, its decorators, the OpenAPI
 * document are unchanged — but when Fastify registers them, {@link adopt} swaps Nest's handler for
 * one that runs the same checks in the same order with the same instances: the route's
 * `@Authenticated` options through {@link GatewayAuthGuard.authenticateProject}, the throttle
 * through {@link GatewayThrottlerGuard.throttleNow}, then the controller's own method, answered
 * 200; any exception answered as the exception filter answers it. What it leaves out is Nest's
 * per-request machinery (an execution context per guard, the guards and interceptor chains as
 * promises, the metadata reads): about a third of the bytes a select allocated.
 *
 * Every other route goes through Nest as before.
 */
export class HotRoutes {
  /** The exception filter's context: unexpected errors are logged the same way on both paths. */
  private readonly logger = new Logger('ExceptionFilter');

  constructor(
    private readonly controller: GatewayController,
    private readonly auth: GatewayAuthGuard,
    private readonly throttler: GatewayThrottlerGuard,
    private readonly clock: Clock,
  ) {}

  /** For Fastify's `onRoute` hook: a hot route gets its own handler; any other is left as it is. */
  adopt(route: RouteOptions): void {
    const name = route.method === 'POST' ? HOT_ROUTES.get(route.url) : undefined;
    if (name === undefined) return;
    const method = Object.getOwnPropertyDescriptor(GatewayController.prototype, name)?.value as object;
    // Resolved as the guard resolves every route: @Public() first, then the handler's options over its class's.
    const options = this.auth.routeAuthOf(method, GatewayController);
    if (options === undefined || options === 'public' || options.admin) {
      throw new Error(`${route.url} is on the hot path: it must be @Authenticated with a project API key`);
    }
    // throttleNow counts as the library does for a route without throttler metadata.
    const keys = [method, GatewayController].flatMap((target) => Reflect.getMetadataKeys(target) as unknown[]);
    if (keys.some((key) => typeof key === 'string' && key.startsWith('THROTTLER:'))) {
      throw new Error(`${route.url} is on the hot path: @Throttle and @SkipThrottle are not read there`);
    }
    const controller = this.controller;
    let answer: Answer = (request) => controller[name](request);
    if (name === 'select') {
      // Answers the writer leaves (with `explain`) are serialized from the schema.
      route.schema = { ...route.schema, response: { 200: SELECT_ANSWER_SCHEMA } };
      const writer = new SelectAnswerWriter();
      answer = asText(
        (request) => controller.select(request),
        (envelope) => writer.write(envelope),
      );
    } else if (name === 'report') {
      const writer = new ReportAnswerWriter();
      answer = asText(
        (request) => controller.report(request),
        (envelope) => writer.write(envelope),
      );
    }
    route.handler = (request, reply) => this.serve(request, reply, options, answer);
  }

  private serve(
    request: HotRequest,
    reply: FastifyReply,
    options: AuthenticatedOptions,
    answer: Answer,
  ): Promise<void> | undefined {
    try {
      const principal = this.auth.authenticateProject(request, options);
      if (principal instanceof Promise) {
        return principal.then(
          () => this.answer(request, reply, answer),
          (error: unknown) => this.fail(request, reply, error),
        );
      }
    } catch (error) {
      this.fail(request, reply, error);
      return undefined;
    }
    this.answer(request, reply, answer);
    return undefined;
  }

  private answer(request: HotRequest, reply: FastifyReply, answer: Answer): void {
    try {
      this.throttler.throttleNow(request, reply);
      void reply.code(200).send(answer(request, reply));
    } catch (error) {
      this.fail(request, reply, error);
    }
  }

  private fail(request: HotRequest, reply: FastifyReply, error: unknown): void {
    sendException(reply, error, request.id, this.clock.now(), this.logger);
  }
}

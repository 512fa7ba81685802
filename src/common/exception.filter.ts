import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorEnvelope } from './envelope';
import { type DescribedError, describeError } from './http-errors';
import type { RouteTable } from './route-table';

/**
 * The one place where exceptions become HTTP responses: every error leaves as the envelope
 * `{code, message, error, details?, requestId, timestamp}`.
 */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  constructor(
    private readonly routes: RouteTable,
    private readonly now: () => number = Date.now,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const unmatched = this.unmatchedRoute(exception, request);
    if (unmatched) sendError(reply, unmatched, request.id, this.now());
    else sendException(reply, exception, request.id, this.now(), this.logger);
  }

  /** Nest answers unknown routes with a NotFoundException; tell 404 from 405 by the route table. */
  private unmatchedRoute(exception: unknown, request: FastifyRequest): DescribedError | undefined {
    if (!(exception instanceof NotFoundException) || request.routeOptions.url !== undefined) return undefined;
    const path = request.url.split('?', 1)[0];
    const allowed = this.routes.allowedMethods(path);
    // A wildcard route that answered "not found" itself (a missing static file) matched the method: 404.
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return {
        status: HttpStatus.METHOD_NOT_ALLOWED,
        code: 'METHOD_NOT_ALLOWED',
        message: `Method ${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
        headers: { Allow: allowed.join(', ') },
        unexpected: false,
      };
    }
    return {
      status: HttpStatus.NOT_FOUND,
      code: 'ROUTE_NOT_FOUND',
      message: `No route ${request.method} ${path}`,
      unexpected: false,
    };
  }
}

/**
 * Answers an exception thrown while serving a matched route with its envelope; one the gateway
 * did not raise on purpose (a 500) is logged first. The filter's answer, for the routes Fastify
 * serves directly as well (HotRoutes).
 */
export function sendException(
  reply: FastifyReply,
  exception: unknown,
  requestId: string,
  now: number,
  logger: Pick<Logger, 'error'>,
): void {
  const described = describeError(exception);
  if (described.unexpected) logger.error({ requestId, err: exception }, 'Unexpected error while serving a request');
  sendError(reply, described, requestId, now);
}

export function sendError(reply: FastifyReply, described: DescribedError, requestId: string, now: number): void {
  const body: ErrorEnvelope = {
    code: described.status,
    message: described.message,
    error: described.code,
    ...(described.details === undefined ? {} : { details: described.details }),
    requestId,
    timestamp: now,
  };
  if (described.headers) void reply.headers(described.headers);
  void reply.status(described.status).type('application/json; charset=utf-8').send(body);
}

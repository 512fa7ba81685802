import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import type { AppConfig } from '../config/app-config';

/** Routes too hot (or too frequent) to log per request at info level. */
const QUIET_PATHS = [/^\/api\/gateway\//, /^\/api\/health/, /^\/metrics/];

/** Headers and query parameters that carry secrets; never logged. */
const SECRET_QUERY = /([?&](?:apiKey|api_key|token|access_token)=)[^&]*/gi;

export function redactQuery(url: string | undefined): string | undefined {
  return url?.replace(SECRET_QUERY, '$1[REDACTED]');
}

/**
 * nestjs-pino for the application's own logs: JSON (pretty on a TTY), secrets redacted. Its HTTP
 * middleware is not used (`forRoutes: []`): request logs come from {@link logRequest}, a Fastify
 * hook that costs nothing on the quiet hot routes (pino-http's per-request child logger and the
 * middleware engine cost ~10 % of a select).
 */
export function loggerParams(config: AppConfig, destination?: DestinationStream): Params {
  const options: Options = {
    level: config.logLevel,
    // Every line names its node (GATEWAY_NODE_ID), so logs of a cluster can be told apart.
    base: { pid: process.pid, hostname: hostname(), node: config.nodeId },
    // A destination given (tests capture logs) means plain JSON into it.
    transport: config.logPretty && !destination ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
    redact: {
      paths: ['*.password', '*.apiKey', '*.accessToken', '*.authorization', '*["api-key"]'],
      censor: '[REDACTED]',
    },
  };
  return { forRoutes: [], pinoHttp: destination ? [options, destination] : options };
}

const httpLogger = new Logger('HTTP');

/** One line per completed request, except on quiet routes: 2xx info, 4xx warn, 5xx error. */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const url = request.url;
  if (QUIET_PATHS.some((pattern) => pattern.test(url))) return;
  const status = reply.statusCode;
  const line = {
    req: { id: request.id, method: request.method, url: redactQuery(url) },
    res: { statusCode: status },
    responseTime: Math.round(reply.elapsedTime),
  };
  if (status >= 500) httpLogger.error(line, 'request completed');
  else if (status >= 400) httpLogger.warn(line, 'request completed');
  else httpLogger.log(line, 'request completed');
}

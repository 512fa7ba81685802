import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
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

/** nestjs-pino options: JSON logs (pretty on a TTY), secrets redacted, hot routes not logged. */
export function loggerParams(config: AppConfig, destination?: DestinationStream): Params {
  const options: Options = {
    level: config.logLevel,
    // A destination given (tests capture logs) means plain JSON into it.
    transport: config.logPretty && !destination ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
    redact: {
      paths: [
        'req.headers["api-key"]',
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.password',
        '*.apiKey',
        '*.accessToken',
      ],
      censor: '[REDACTED]',
    },
    // Fastify's genReqId already stored the id on the raw request.
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? '',
    autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.some((pattern) => pattern.test(req.url ?? '')) },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: redactQuery(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
  return {
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    pinoHttp: destination ? [options, destination] : options,
  };
}

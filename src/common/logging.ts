import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import type { AppConfig } from '../config/app-config';
import { serializeError } from './query-errors';

/** Routes too hot (or too frequent) to log per request at info level. */
const QUIET_PATHS = [/^\/api\/gateway\//, /^\/api\/health/, /^\/metrics/];

/**
 * Read routes the dashboard polls every few seconds (monitoring, observation, instance health,
 * breaker events, webhooks): a successful GET there is logged at debug, not info, so an open dashboard does
 * not fill the log. Their errors are logged as any other (4xx warn, 5xx error).
 */
const POLLED_PATHS =
  /^\/api\/(?:admin\/monitoring|monitoring|admin\/observation|admin\/breaker-events|admin\/webhooks|(?:admin\/)?instances\/[^/?]+\/health)(?:[/?]|$)/;

/** Whether a completed request is a successful poll of a dashboard read route (logged at debug). */
export function isPoll(method: string, url: string, status: number): boolean {
  return method === 'GET' && status < 400 && POLLED_PATHS.test(url);
}

/**
 * Query parameter names that carry secrets, compared decoded, lower case, without separators
 * (`api-key`, `API_KEY`, `api%4Bey` and `apiKey` are all `apikey`).
 */
const SECRET_NAMES: ReadonlySet<string> = new Set([
  'key',
  'auth',
  'authorization',
  'pwd',
  'passwd',
  'jwt',
  'sig',
  'signature',
  'credential',
  'credentials',
]);
const SECRET_NAME_ENDINGS = ['apikey', 'accesskey', 'secretkey', 'privatekey', 'token', 'password', 'secret'];
/** A value shaped like a key the gateway issues is redacted whatever its parameter is called. */
const ISSUED_KEY = /gw_[A-Za-z0-9]{16,}/;

const REDACTED = '[REDACTED]';

/**
 * The URL as it may be logged: the query string is parsed (names and values percent-decoded, as
 * a query parser would) and every parameter whose name looks like a key, token or password —
 * however it is spelled or encoded — or whose value looks like an issued key, has its value
 * replaced by `[REDACTED]`. The other parameters stay as sent.
 */
export function redactQuery(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const start = url.indexOf('?');
  if (start < 0) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      if (equals < 0) return isSecretName(name) ? REDACTED : pair;
      const secret = isSecretName(name) || ISSUED_KEY.test(lenientDecode(pair.slice(equals + 1)));
      return secret ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, start)}?${pairs.join('&')}`;
}

function isSecretName(raw: string): boolean {
  const name = lenientDecode(raw)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  return SECRET_NAMES.has(name) || SECRET_NAME_ENDINGS.some((ending) => name.endsWith(ending));
}

/** Percent-decoding that never throws: a malformed sequence decodes byte by byte. */
function lenientDecode(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9a-f]{2})/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
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
    // A database error loses its statement's values (parameters, inlined SQL, quoted values).
    serializers: { err: serializeError },
    redact: {
      paths: ['*.password', '*.apiKey', '*.accessToken', '*.authorization', '*["api-key"]'],
      censor: '[REDACTED]',
    },
  };
  return { forRoutes: [], pinoHttp: destination ? [options, destination] : options };
}

const httpLogger = new Logger('HTTP');

/** 4xx request lines logged per second at most; a flood of refused requests must not flood the log. */
export const CLIENT_ERROR_LINES_PER_SECOND = 50;

/**
 * Counts the 4xx lines of the current second. Beyond {@link CLIENT_ERROR_LINES_PER_SECOND} they are
 * counted, not written, and one line says how many went unlogged (written with the next 4xx line
 * of a later second). A login flood answered 429 thousands of times a second spent more on its log
 * lines than on its answers. Every request is still counted in `gateway_http_requests_total`.
 */
export class ClientErrorLines {
  private second = -1;
  private logged = 0;
  private suppressed = 0;
  private suppressedSince = 0;

  /** Whether a 4xx line at `now` may be written (after the summary of a past second, if any). */
  admit(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      if (this.suppressed > 0) {
        httpLogger.warn(
          { suppressed: this.suppressed, since: new Date(this.suppressedSince).toISOString() },
          `${this.suppressed} request lines with a 4xx status were not logged (more than ${CLIENT_ERROR_LINES_PER_SECOND} a second)`,
        );
      }
      this.second = second;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged < CLIENT_ERROR_LINES_PER_SECOND) {
      this.logged += 1;
      return true;
    }
    if (this.suppressed === 0) this.suppressedSince = now;
    this.suppressed += 1;
    return false;
  }
}

const clientErrorLines = new ClientErrorLines();

/**
 * One line per completed request, except on quiet routes: 2xx info (debug for a dashboard poll),
 * 4xx warn (at most 50 a second), 5xx error.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const url = request.url;
  if (QUIET_PATHS.some((pattern) => pattern.test(url))) return;
  const status = reply.statusCode;
  if (status >= 400 && status < 500 && !clientErrorLines.admit(Date.now())) return;
  const line = {
    req: { id: request.id, method: request.method, url: redactQuery(url) },
    res: { statusCode: status },
    responseTime: Math.round(reply.elapsedTime),
  };
  if (status >= 500) httpLogger.error(line, 'request completed');
  else if (status >= 400) httpLogger.warn(line, 'request completed');
  else if (isPoll(request.method, url, status)) httpLogger.debug(line, 'request completed');
  else httpLogger.log(line, 'request completed');
}

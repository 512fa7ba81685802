import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestFactory } from '@nestjs/core';
import { type LoggerService, Logger as NestLogger } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { recordHttpMetrics } from './prometheus/http-metrics';
import { answerClientError } from './common/client-errors';
import { sendError } from './common/exception.filter';
import { GatewayError } from './common/gateway-error';
import { describeError } from './common/http-errors';
import { newRandomId } from './common/ids';
import { exceedsJsonDepth } from './common/json-depth';
import { EarlyRefusals } from './common/early-refusals';
import { RouteTable } from './common/route-table';
import { setupSwagger } from './common/swagger';
import { logRequest } from './common/logging';
import { securityHeadersFor } from './common/security-headers';
import { Clock } from './common/clock';
import { GatewayAuthGuard } from './auth/gateway-auth.guard';
import { GatewayThrottlerGuard } from './auth/gateway-throttler.guard';
import { GatewayController } from './selection/gateway.controller';
import { HotRoutes } from './selection/hot-routes';
import type { AppConfig } from './config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A request id: the caller's `x-request-id` when it is sane, else 32 lowercase hex characters. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : newRandomId();
  // pino-http reads the same id from the raw request.
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}

/** Routes that take many items in one body (reports, or every instance a project may hold). */
const BATCH_ROUTES: ReadonlySet<string> = new Set(['/api/gateway/report-results', '/api/instances/batch']);

/**
 * The longest path parameter the router matches, decoded: a 128-character `businessId` must
 * reach the path routes whatever its characters; a longer segment is answered 414 URI_TOO_LONG.
 */
export const MAX_PARAM_LENGTH = 512;

export function createAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestIdOf,
    return503OnClosing: true,
    // Keep-alive sockets that sit idle would hold a graceful shutdown open.
    forceCloseConnections: 'idle',
    logger: false,
    // No Express-style middleware is used: the middleware engine would run on every request.
    skipMiddie: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Behind a reverse proxy, request.ip is the client named by X-Forwarded-For (GATEWAY_TRUST_PROXY).
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Errors the router raises before any route runs (a bad URL escape, a parameter too long):
    // the same envelope as every other error, never Fastify's own body.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      sendError(reply, describeError(error), request.id, Date.now()),
    // Requests Node's HTTP parser refuses (431 huge headers, 400 bad Content-Length) never reach
    // Fastify: their envelope is written to the socket.
    clientErrorHandler: (error, socket) => answerClientError(error, socket),
  });
}

/**
 * Nest's own start-up detail — a line per module initialised, per controller and per route
 * mapped (about a hundred) — goes to debug: at info the start-up log says what an operator acts
 * on (where it listens, warnings). Everything else passes through unchanged.
 */
export const START_UP_DETAIL_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);

class StartUpDetailAtDebug implements LoggerService {
  constructor(private readonly inner: LoggerService) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && START_UP_DETAIL_CONTEXTS.has(context)) this.inner.debug?.(message, ...rest);
    else this.inner.log(message, ...rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.inner.error(message, ...rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.inner.warn(message, ...rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.inner.debug?.(message, ...rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.inner.verbose?.(message, ...rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    (this.inner.fatal ?? this.inner.error).call(this.inner, message, ...rest);
  }
}

/**
 * Everything an app instance needs before `init()`, shared by `main.ts`, the OpenAPI generator
 * and the e2e tests, so that tests exercise exactly what production runs.
 */
export function configureApp(app: NestFastifyApplication, config: AppConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  const routes = app.get(RouteTable);
  app.useLogger(new StartUpDetailAtDebug(app.get(Logger)));
  app.flushLogs();
  if (config.trustProxy === true) warnTrustEveryProxy();

  // select-instance and report-result(s) are answered by Fastify handlers of their own (ADR 0012).
  const hot = new HotRoutes(
    app.get(GatewayController),
    app.get(GatewayAuthGuard),
    app.get(GatewayThrottlerGuard),
    app.get(Clock),
  );
  fastify.addHook('onRoute', (route) => {
    routes.add(route.method, route.url);
    // A batch of 1000 reports or instances does not fit the general body limit.
    if (BATCH_ROUTES.has(route.url)) route.bodyLimit = Math.max(config.bodyLimitBytes, config.batchBodyLimitBytes);
    hot.adopt(route);
  });
  // While draining, answer in-flight requests with `Connection: close` so keep-alive sockets do
  // not hold the shutdown open until their idle timeout.
  let draining = false;
  fastify.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  fastify.addHook('onSend', (request, reply, _payload, done) => {
    void reply.headers(securityHeadersFor(reply.getHeader('content-type')));
    void reply.header('x-request-id', request.id);
    if (draining) void reply.header('connection', 'close');
    // [compat] every success is HTTP 200, creates included: the reference's clients check `== 200`.
    if (reply.statusCode === 201) void reply.code(200);
    done();
  });
  // Accept an empty body sent with `Content-Type: application/json` (the reference's clients do
  // this on activate/deactivate); refuse a body nested deeper than GATEWAY_MAX_BODY_DEPTH before it
  // is parsed (recursive walkers downstream would overflow the stack); everything else goes
  // through Fastify's safe JSON parser.
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  const maxDepth = config.limits.bodyDepth;
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit: config.bodyLimitBytes }, (req, body, done) => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (bytes.length === 0) return done(null, undefined);
    if (exceedsJsonDepth(bytes, maxDepth)) {
      const message = `The JSON body is nested deeper than ${maxDepth} levels`;
      return done(new GatewayError('BODY_TOO_DEEP', message, { details: { maxDepth } }), undefined);
    }
    void defaultJson(req, bytes.toString(), (error, value) => {
      // A GatewayError passes Nest's external-error mapping untouched, so the filter sees the code.
      if (error) return done(new GatewayError('INVALID_JSON', `Malformed JSON body: ${error.message}`), undefined);
      done(null, value);
    });
  });

  // Refusals decided from the request line and headers: before the body is read (a flood of them
  // must cost little), for the routes whose modules registered a check.
  const refusals = app.get(EarlyRefusals);
  fastify.addHook('onRequest', (request, reply, done) => {
    const refusal = refusals.refusalOf(request);
    if (refusal === undefined) return done();
    sendError(reply, describeError(refusal), request.id, Date.now());
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply);
    done();
  });
  recordHttpMetrics(app);
  if (config.corsOrigins.length > 0) {
    app.enableCors({ origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins], maxAge: 600 });
  }
  app.setGlobalPrefix('api', { exclude: ['metrics'] });
  if (config.swaggerEnabled) setupSwagger(app);
}

/**
 * `GATEWAY_TRUST_PROXY=true` believes every `X-Forwarded-For` hop, so a client names its own IP
 * with the leftmost entry and gets a fresh per-IP login budget (and throttle) with each one. Some
 * platforms need it (an unknown, changing chain of proxies); everyone else should know the cost.
 */
function warnTrustEveryProxy(): void {
  new NestLogger('Gateway').warn(
    'GATEWAY_TRUST_PROXY=true trusts every hop of X-Forwarded-For: any client can claim any IP address by ' +
      'sending the header itself, and so escape the per-IP login limits and throttles. Set the hop count of ' +
      'your proxies (e.g. GATEWAY_TRUST_PROXY=1) or their addresses/CIDR ranges (e.g. 10.0.0.0/8) instead',
  );
}

/** Creates, configures and initialises the gateway (without listening). */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createAdapter(config), {
    bufferLogs: true,
    abortOnError: false,
  });
  configureApp(app, config);
  await app.init();
  return app;
}

/**
 * The address actually bound, and a URL to click: `localhost` when bound to every interface
 * (0.0.0.0 or ::), where `127.0.0.1` would be only one of the addresses that answer.
 */
export function listeningLines(
  bound: { address: string; port: number },
  config: Pick<AppConfig, 'swaggerEnabled' | 'database'>,
): string[] {
  const everywhere = bound.address === '0.0.0.0' || bound.address === '::';
  const host = everywhere ? 'localhost' : bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  const base = `http://${host}:${bound.port}`;
  const boundTo = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
  const database =
    config.database.type === 'sqlite'
      ? `sqlite ${config.database.path}`
      : `mysql ${config.database.host}:${config.database.port}/${config.database.database}`;
  return [
    `Listening on ${base} (bound to ${boundTo}${everywhere ? ', every interface' : ''}; database: ${database})`,
    [
      `Dashboard ${base}/api/dashboard`,
      ...(config.swaggerEnabled ? [`Swagger UI ${base}/api/docs`] : []),
      `Prometheus ${base}/metrics (a token or an admin JWT)`,
      `Readiness ${base}/api/health/ready`,
    ].join(' · '),
  ];
}

/**
 * `GATEWAY_TRUST_PROXY` as Fastify takes it. A hop count becomes the function proxy-addr made of
 * one (the nearest `hops` addresses are trusted, whatever they are): Fastify ≥ 5.12 refuses a bare
 * number and would trust no proxy at all (docs/security.md says when a hop count is safe).
 */
function fastifyTrustProxy(
  trustProxy: AppConfig['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return typeof trustProxy === 'object' ? [...trustProxy] : trustProxy;
}

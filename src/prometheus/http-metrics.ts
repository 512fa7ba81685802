import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GatewayMetrics, UNMATCHED_ROUTE } from './gateway-metrics';

/** Fastify instances already hooked: a second call must not count every request twice. */
const hooked = new WeakSet<FastifyInstance>();

/**
 * Counts every answered request of the app in `gateway_http_requests_total` and
 * `gateway_http_request_duration_seconds`, labelled by the route pattern Fastify matched
 * (`/api/instances/:id/health`, never the raw URL, so ids never become label values) or
 * `unmatched`. Call before `init()`, next to the other Fastify hooks; calling it again is a no-op.
 *
 * @example
 * configureApp(app, config); // → recordHttpMetrics(app);
 */
export function recordHttpMetrics(app: NestFastifyApplication): void {
  addHttpMetricsHook(app.getHttpAdapter().getInstance(), app.get(GatewayMetrics));
}

/** The hook itself, on any Fastify instance (tests use a bare one). */
export function addHttpMetricsHook(fastify: FastifyInstance, metrics: GatewayMetrics): void {
  if (hooked.has(fastify)) return;
  hooked.add(fastify);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.http(
      request.method,
      request.routeOptions.url ?? UNMATCHED_ROUTE,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}

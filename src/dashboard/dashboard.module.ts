import { readdirSync } from 'node:fs';
import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DASHBOARD_PATH, type DashboardAssets, VENDOR_FILES, loadDashboardAssets } from './dashboard-assets';

/** Versioned asset URLs never change content, so browsers may keep them for a year. */
const STATIC = {
  wildcard: false,
  index: false,
  decorateReply: false,
  cacheControl: true,
  maxAge: '365d',
  immutable: true,
} as const;

/**
 * The admin page under `/api/dashboard`: `index.html` (revalidated on every load) and its
 * versioned assets (cached for good), plus uPlot from its npm package — nothing from a CDN.
 *
 * The routes are plain Fastify routes, outside Nest's router: the page holds no secret, so no
 * guard, envelope, throttling or OpenAPI entry applies to them; every data call the page makes
 * goes to the admin API with the JWT. The global security headers (CSP included) still apply.
 */
export function dashboardPlugin(assets: DashboardAssets): FastifyPluginAsync {
  return async (fastify) => {
    const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
      void reply.header('cache-control', 'no-cache').header('etag', assets.indexEtag);
      if (request.headers['if-none-match'] === assets.indexEtag) return reply.code(304).send();
      return reply.type('text/html; charset=utf-8').send(assets.indexHtml);
    };
    fastify.get(DASHBOARD_PATH, page);
    fastify.get(`${DASHBOARD_PATH}/`, page);
    // One route per file (`wildcard: false`): an unknown path matches no route and gets the
    // gateway's own 404 envelope. Of uPlot's package only the two files the page needs are served.
    await fastify.register(fastifyStatic, { root: assets.assetsDir, prefix: `${assets.assetsPath}/`, ...STATIC });
    await fastify.register(fastifyStatic, {
      root: assets.vendorDir,
      prefix: `${assets.assetsPath}/vendor/`,
      globIgnore: readdirSync(assets.vendorDir).filter((name) => !VENDOR_FILES.has(name)),
      ...STATIC,
    });
  };
}

/**
 * Serves the admin dashboard (see {@link dashboardPlugin}) on the app's Fastify instance.
 *
 * @example
 * imports: [DashboardModule] // then open http://localhost:8081/api/dashboard
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    // No HTTP adapter in a bare application context: nothing to serve.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter) return;
    const fastify = adapter.getInstance<FastifyInstance>();
    // Loaded with the other plugins when Fastify becomes ready (before listening).
    void fastify.register(dashboardPlugin(loadDashboardAssets()));
  }
}

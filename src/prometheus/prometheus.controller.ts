import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers, Inject, Logger, type OnModuleInit } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { AdminTokens } from '../auth/admin-tokens';
import { Public } from '../auth/auth.decorators';
import { Clock, InjectClock } from '../common/clock';
import { CostBudget } from '../common/cost-budget';
import { EarlyRefusals } from '../common/early-refusals';
import { Enveloped, RawResponse } from '../common/envelope.interceptor';
import { GatewayError } from '../common/gateway-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { looksLikeJwt } from '../tenancy/api-key-secrets';
import { GatewayMetrics } from './gateway-metrics';
import { RenderCache } from './render-cache';

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="metrics"' } as const;
/** Authorised scrapes a node answers per second (Prometheus scrapes every 15 s; a few servers, a few dashboards). */
export const SCRAPES_PER_SECOND = 10;

/**
 * `GET /metrics` (outside the `/api` prefix) in the Prometheus text format, for scrapers rather
 * than API clients: left out of the OpenAPI document. It lists every project's and instance's ids
 * and states, so it is closed by default: `Authorization: Bearer <GATEWAY_METRICS_TOKEN>` or an
 * admin JWT (a viewer's too) opens it; `GATEWAY_METRICS_PUBLIC=true` is the operator's explicit
 * opt-out. Public to the API-key guard: it checks its own credentials. The text is rendered at
 * most once a second, however many scrapers ask.
 */
@ApiExcludeController()
@Public()
@Enveloped()
@Controller('metrics')
export class PrometheusController implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  /** SHA-256 of the configured token: equal-length digests compare in constant time. */
  private readonly expected: Buffer | undefined;
  private readonly open: boolean;
  private readonly rendering: RenderCache;
  private readonly scrapes = new CostBudget(SCRAPES_PER_SECOND);
  private readonly now: () => number;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly tokens: AdminTokens,
    private readonly refusals: EarlyRefusals,
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectClock() clock: Clock,
  ) {
    const token = config.metrics.token;
    this.expected = token === undefined || token === '' ? undefined : digest(token);
    this.open = config.metrics.public;
    this.rendering = new RenderCache(clock, () => this.metrics.metrics());
    this.now = () => clock.now();
  }

  onModuleInit(): void {
    // Decided before Nest's pipeline: a request without a bearer token, and a scrape with the metrics
    // token while this second's scrapes are spent (an admin JWT is verified the normal way).
    this.refusals.add('GET', '/metrics', (request) => {
      if (this.open) return undefined;
      const header = request.headers.authorization;
      const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
      if (token === undefined) return tokenMissing();
      if (this.expected === undefined || !timingSafeEqual(digest(token), this.expected)) return undefined;
      return this.scrapeRefusal(this.now());
    });
    if (this.open) {
      this.logger.warn(
        'GATEWAY_METRICS_PUBLIC=true: GET /metrics answers anyone, with every project and instance id and ' +
          'state; unset it and scrape with GATEWAY_METRICS_TOKEN (or an admin JWT) to close it',
      );
    }
  }

  @Get()
  @RawResponse()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    await this.authorize(authorization);
    this.admitScrape();
    return this.rendering.get();
  }

  /**
   * At most {@link SCRAPES_PER_SECOND} authorised scrapes a second on a node (answers of hundreds of
   * KB: a loop of them took the event loop's writes); beyond, 429 THROTTLED with `Retry-After`.
   * Counted after authorisation, so requests without credentials cannot use up Prometheus's share.
   */
  private admitScrape(): void {
    const now = this.now();
    const refusal = this.scrapeRefusal(now);
    if (refusal !== undefined) throw refusal;
    this.scrapes.charge('', 1, now);
  }

  private scrapeRefusal(now: number): GatewayError | undefined {
    const waitMs = this.scrapes.waitMs('', now, 1);
    if (waitMs === 0) return undefined;
    return new GatewayError('THROTTLED', `More than ${SCRAPES_PER_SECOND} scrapes a second`, {
      details: { retryAfterMs: waitMs },
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) },
    });
  }

  private async authorize(authorization: string | undefined): Promise<void> {
    if (this.open) return;
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) throw tokenMissing();
    if (this.expected !== undefined && timingSafeEqual(digest(token), this.expected)) return;
    if (looksLikeJwt(token) && (await this.tokens.verify(token)) !== undefined) return;
    throw new GatewayError('INVALID_METRICS_TOKEN', 'The metrics token is invalid', { headers: CHALLENGE });
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function tokenMissing(): GatewayError {
  return new GatewayError(
    'METRICS_TOKEN_MISSING',
    'GET /metrics requires Authorization: Bearer <metrics token or admin JWT>',
    {
      headers: CHALLENGE,
    },
  );
}

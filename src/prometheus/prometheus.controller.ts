import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators';
import { Enveloped, RawResponse } from '../common/envelope.interceptor';
import { GatewayError } from '../common/gateway-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { GatewayMetrics } from './gateway-metrics';

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="metrics"' } as const;

/**
 * `GET /metrics` (outside the `/api` prefix) in the Prometheus text format, for scrapers rather
 * than API clients: left out of the OpenAPI document. Public to the API-key guard; when
 * `GATEWAY_METRICS_TOKEN` is set it asks for `Authorization: Bearer <token>` itself.
 */
@ApiExcludeController()
@Public()
@Enveloped()
@Controller('metrics')
export class PrometheusController {
  /** SHA-256 of the configured token: equal-length digests compare in constant time. */
  private readonly expected: Buffer | undefined;

  constructor(
    private readonly metrics: GatewayMetrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const token = config.metrics.token;
    this.expected = token === undefined || token === '' ? undefined : digest(token);
  }

  @Get()
  @RawResponse()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    this.authorize(authorization);
    return this.metrics.metrics();
  }

  private authorize(authorization: string | undefined): void {
    if (this.expected === undefined) return;
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) {
      throw new GatewayError('METRICS_TOKEN_MISSING', 'GET /metrics requires Authorization: Bearer <metrics token>', {
        headers: CHALLENGE,
      });
    }
    if (!timingSafeEqual(digest(token), this.expected)) {
      throw new GatewayError('INVALID_METRICS_TOKEN', 'The metrics token is invalid', { headers: CHALLENGE });
    }
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

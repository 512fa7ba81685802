import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics';

/**
 * The Prometheus registry and the counters the request path updates, available everywhere.
 * It depends on nothing, so the selection module can inject {@link GatewayMetrics} without an
 * import cycle; the scrape-time gauges and `GET /metrics` live in the observability module.
 */
@Global()
@Module({
  providers: [GatewayMetrics],
  exports: [GatewayMetrics],
})
export class PrometheusModule {}

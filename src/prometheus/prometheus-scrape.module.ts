import { Module } from '@nestjs/common';
import { SelectionModule } from '../selection/selection.module';
import { GatewayGauges } from './gateway-gauges';
import { MetricsController } from './prometheus.controller';

/**
 * `GET /metrics` and the gauges it reads at scrape time from the selection side's live state
 * (breakers, leases, quotas, write-behind queues). The counters of the request path live in the
 * global `PrometheusModule`, which must be imported too.
 */
@Module({
  imports: [SelectionModule],
  providers: [GatewayGauges],
  controllers: [MetricsController],
})
export class ObservabilityModule {}

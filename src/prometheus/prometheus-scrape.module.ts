import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { MinuteMetricsModule } from '../minute-metrics/minute-metrics.module';
import { ProtectionModule } from '../protection/protection.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { RegistryModule } from '../registry/registry.module';
import { StatisticsModule } from '../statistics/statistics.module';
import { GatewayGauges } from './gateway-gauges';
import { PrometheusController } from './prometheus.controller';

/**
 * `GET /metrics` and the gauges it reads at scrape time from live state (breakers, leases,
 * quotas, write-behind queues). The counters of the request path live in the global
 * `PrometheusModule`, which must be imported too.
 */
@Module({
  imports: [
    // AdminTokens: an admin JWT opens /metrics too.
    AuthModule,
    RegistryModule,
    StatisticsModule,
    ProtectionModule,
    CircuitBreakerModule,
    RateLimitModule,
    MinuteMetricsModule,
  ],
  providers: [GatewayGauges],
  controllers: [PrometheusController],
})
export class PrometheusScrapeModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CircuitBreakerModule } from '../circuit-breaker/circuit-breaker.module';
import { DatabaseModule } from '../database/database.module';
import { RegistryModule } from '../registry/registry.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminWebhooksController } from './admin-webhooks.controller';
import { AlertMetrics } from './alert-metrics';
import { AlertSources } from './alert-sources';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEntity } from './webhook.entity';
import { WebhooksService } from './webhooks.service';

/**
 * Alerts (docs/alerts.md): webhooks configured through the admin API, told of breaker
 * transitions, exhausted quotas and failing write-behind, delivered behind the request path.
 */
@Module({
  imports: [
    DatabaseModule,
    TenancyModule,
    RegistryModule,
    CircuitBreakerModule,
    TypeOrmModule.forFeature([WebhookEntity]),
  ],
  controllers: [AdminWebhooksController],
  providers: [WebhooksService, WebhookDispatcher, AlertSources, AlertMetrics],
  exports: [WebhookDispatcher, WebhooksService],
})
export class AlertsModule {}

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { GatewayMetrics } from '../prometheus/gateway-metrics';
import { WebhookDispatcher } from './webhook-dispatcher';

/**
 * The alert webhooks' own health on `/metrics`, read from the dispatcher when Prometheus scrapes
 * (nothing per alert): an alert that never arrives must be visible somewhere other than the log.
 *
 * - `gateway_webhook_deliveries_total{result}`: `delivered`, `failed` (given up after the last
 *   attempt), `discarded` (the webhook was deleted or disabled before an attempt), `dropped` (the
 *   queue was full);
 * - `gateway_webhook_queue{state}`: `queued` (alerts not yet matched to webhooks), `waiting`
 *   (deliveries waiting for their attempt), `in_flight`.
 */
@Injectable()
export class AlertMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onModuleInit(): void {
    const { dispatcher } = this;
    const registry = this.metrics.registry;
    if (registry.getSingleMetric('gateway_webhook_deliveries_total')) return;
    new Counter({
      name: 'gateway_webhook_deliveries_total',
      help: 'Alert webhook deliveries since start, by result (delivered, failed, discarded, dropped)',
      labelNames: ['result'] as const,
      registers: [registry],
      collect() {
        const stats = dispatcher.stats;
        this.reset();
        this.inc({ result: 'delivered' }, stats.delivered);
        this.inc({ result: 'failed' }, stats.failed);
        this.inc({ result: 'discarded' }, stats.discarded);
        this.inc({ result: 'dropped' }, stats.dropped);
      },
    });
    new Gauge({
      name: 'gateway_webhook_queue',
      help: 'Alert webhook work on this node, by state (queued, waiting, in_flight)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = dispatcher.stats;
        this.set({ state: 'queued' }, stats.queued);
        this.set({ state: 'waiting' }, stats.waiting);
        this.set({ state: 'in_flight' }, stats.inFlight);
      },
    });
  }
}

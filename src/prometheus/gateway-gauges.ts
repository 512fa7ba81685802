import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { BreakerEventLog } from '../circuit-breaker/breaker-event-log';
import { BreakerService, type BreakerStateOf } from '../circuit-breaker/breaker.service';
import {
  BREAKER_STATES,
  type BreakerStateName,
  type BreakerTransition,
  BreakerTransitions,
} from '../circuit-breaker/breaker-transition';
import { Clock, InjectClock } from '../common/clock';
import { ClusterStatus, InjectClusterStatus } from '../state/cluster-status';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { type AggregatorStats, MinuteAggregator } from '../minute-metrics/minute-aggregator';
import { QuotaService } from '../rate-limit/quota.service';
import type { InstanceRecord } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import { readRoutingParams } from '../registry/routing-params';
import { LeaseManager } from '../protection/lease-manager';
import { GatewayMetrics } from './gateway-metrics';

/** `gateway_breaker_state` values. */
export const BREAKER_STATE_CODES: Readonly<Record<BreakerStateName, number>> = Object.freeze({
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
  FORCED_OPEN: 3,
  DISABLED: 4,
});

/** The automatic breaker's transitions: their counters start at 0 so rate() sees the first one. */
const AUTOMATIC_TRANSITIONS: readonly (readonly [BreakerStateName, BreakerStateName])[] = [
  ['CLOSED', 'OPEN'],
  ['OPEN', 'HALF_OPEN'],
  ['HALF_OPEN', 'CLOSED'],
  ['HALF_OPEN', 'OPEN'],
];

const INSTANCE_LABELS = ['project_id', 'instance_id'] as const;
type InstanceLabel = (typeof INSTANCE_LABELS)[number];

const INFO_LABELS = ['instance_id', 'project_id', 'api_identifier', 'business_id', 'provider'] as const;
type InfoLabel = (typeof INFO_LABELS)[number];

/** Longest `provider` label kept (routingParams/metadata are the caller's free JSON). */
export const MAX_PROVIDER_LABEL_CHARS = 64;

/**
 * Gauges of the gateway's live in-memory state, read when Prometheus scrapes (nothing runs per
 * request): breaker states, leases, quotas and cool-downs per instance, and the write-behind
 * queues of minute metrics and breaker events. Also counts breaker transitions as they happen.
 * Per-instance gauges are rebuilt on every scrape, so deleted instances disappear; among them
 * `gateway_instance_info`, which names each instance (project, apiIdentifier, businessId,
 * provider) for the id-only series to join. It also tells the per-instance call counters of
 * {@link GatewayMetrics} which instances are gone.
 */
@Injectable()
export class GatewayGauges implements OnModuleInit, OnModuleDestroy {
  private readonly transitionCounts = new Map<string, Counter.Internal>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly breakers: BreakerService,
    private readonly index: RegistryIndex,
    private readonly stats: InstanceStatsRegistry,
    private readonly leases: LeaseManager,
    private readonly quotas: QuotaService,
    private readonly aggregator: MinuteAggregator,
    private readonly eventLog: BreakerEventLog,
    private readonly transitions: BreakerTransitions,
    @InjectClock() private readonly clock: Clock,
    @InjectClusterStatus() private readonly cluster: ClusterStatus,
  ) {}

  onModuleInit(): void {
    const registry = this.metrics.registry;
    const instance = INSTANCE_LABELS;
    const perInstance = this.metrics.instances;
    // Calls and latency of an instance the registry no longer holds are forgotten.
    if (perInstance !== undefined) perInstance.isLive = (id) => this.index.get(id) !== undefined;
    gauge(registry, {
      name: 'gateway_instance_info',
      help: 'Always 1, per registered instance: joins instance_id to its project, apiIdentifier, businessId and provider',
      labelNames: INFO_LABELS,
      read: (metric) => this.collectInstanceInfo(metric),
    });
    gauge(registry, {
      name: 'gateway_breaker_state',
      help: 'Breaker state per instance: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, 3 FORCED_OPEN, 4 DISABLED',
      labelNames: instance,
      read: (metric) => this.collectBreakerStates(metric),
    });
    gauge(registry, {
      name: 'gateway_breaker_instances',
      help: 'Instances in the registry per breaker state (instances never reported are CLOSED)',
      labelNames: ['state'],
      read: (metric) => this.collectBreakerCounts(metric),
    });
    this.countTransitions(registry);
    gauge(registry, {
      name: 'gateway_open_leases',
      help: 'Open leases (selected, not yet reported or expired) per instance',
      labelNames: instance,
      read: (metric) => this.collectOpenLeases(metric),
    });
    gauge(registry, {
      name: 'gateway_quota_remaining',
      help: 'Requests (rpm) or tokens (tpm) left in the rolling minute, per instance with that limit',
      labelNames: [...instance, 'kind'],
      read: (metric) => this.collectQuotas(metric),
    });
    gauge(registry, {
      name: 'gateway_cooldown_active',
      help: '1 while an instance cools down after a RATE_LIMITED report',
      labelNames: instance,
      read: (metric) => this.collectCoolDowns(metric),
    });
    this.registerTotals(registry);
    this.registerCluster(registry);
  }

  /** The node's name and mode, and in cluster mode whether Redis answers and how many nodes it hears. */
  private registerCluster(registry: Registry): void {
    const cluster = this.cluster;
    gauge(registry, {
      name: 'gateway_node_info',
      help: 'Always 1: this node (GATEWAY_NODE_ID) and its mode (single or cluster)',
      labelNames: ['node', 'mode'],
      read: (metric) => metric.set({ node: cluster.nodeId, mode: cluster.mode }, 1),
    });
    gauge(registry, {
      name: 'gateway_cluster_connected',
      help: '1 while Redis answers (always 1 on a single node); 0: deciding from local state',
      read: (metric) => metric.set(cluster.connected ? 1 : 0),
    });
    gauge(registry, {
      name: 'gateway_cluster_nodes',
      help: 'Live nodes this node hears from, itself included',
      read: (metric) => metric.set(cluster.nodes().length),
    });
    mirroredCounter(registry, {
      name: 'gateway_cluster_resyncs_total',
      help: 'Times this node reloaded shared state after it may have missed messages',
      read: () => cluster.resyncs,
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Node-wide figures kept by their owners: leases, and the two write-behind queues. */
  private registerTotals(registry: Registry): void {
    const { leases, eventLog } = this;
    const rows = (): AggregatorStats => this.aggregator.stats;
    const gauges: readonly [string, string, () => number][] = [
      ['gateway_leases_open', 'Open leases on this node', () => leases.openTotal],
      ['gateway_metrics_buffered_rows', 'Minute-metric rows waiting to be written', () => rows().bufferedRows],
      ['gateway_breaker_events_queued', 'Breaker events waiting to be written', () => eventLog.queued],
    ];
    for (const [name, help, value] of gauges) gauge(registry, { name, help, read: (metric) => metric.set(value()) });
    const counters: readonly [string, string, () => number][] = [
      ['gateway_leases_unreported_total', 'Leases expired unreported since start', () => leases.unreportedTotal],
      ['gateway_metrics_flushed_rows_total', 'Minute-metric rows written since start', () => rows().flushedRows],
      ['gateway_metrics_dropped_rows_total', 'Minute-metric rows dropped (buffer full)', () => rows().droppedRows],
      ['gateway_metrics_dropped_reports_total', 'Reports in dropped minute-metric rows', () => rows().droppedReports],
      ['gateway_metrics_rejected_rows_total', 'Minute-metric rows the database refused', () => rows().rejectedRows],
      ['gateway_metrics_rejected_reports_total', 'Reports in refused minute-metric rows', () => rows().rejectedReports],
      ['gateway_metrics_flush_failures_total', 'Failed writes of minute metrics', () => rows().failedFlushes],
      ['gateway_breaker_events_dropped_total', 'Breaker events dropped (queue full)', () => eventLog.dropped],
    ];
    for (const [name, help, read] of counters) mirroredCounter(registry, { name, help, read });
    new Counter({
      name: 'gateway_breaker_events_suppressed_total',
      help: 'Breaker transitions not written to breaker_events: the project was over GATEWAY_BREAKER_EVENTS_PER_MINUTE',
      labelNames: ['project_id'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [projectId, count] of eventLog.suppressed) this.inc({ project_id: projectId }, count);
      },
    });
  }

  /** Counted as they happen (on the request path: one Map lookup and an increment). */
  private countTransitions(registry: Registry): void {
    const total = new Counter({
      name: 'gateway_breaker_transitions_total',
      help: 'Breaker transitions on this node, by from and to state',
      labelNames: ['from', 'to'] as const,
      registers: [registry],
    });
    const series = (from: BreakerStateName, to: BreakerStateName): Counter.Internal => {
      const child = total.labels(from, to);
      this.transitionCounts.set(`${from}>${to}`, child);
      return child;
    };
    for (const [from, to] of AUTOMATIC_TRANSITIONS) series(from, to).inc(0);
    this.unsubscribe = this.transitions.listen(({ from, to, remote }: BreakerTransition) => {
      if (remote === true) return; // counted by the node that committed it
      (this.transitionCounts.get(`${from}>${to}`) ?? series(from, to)).inc();
    });
  }

  private collectInstanceInfo(metric: Gauge<InfoLabel>): void {
    for (const record of this.knownInstances()) {
      metric.set(
        {
          instance_id: record.id,
          project_id: record.projectId,
          api_identifier: record.apiIdentifier,
          business_id: record.businessId,
          provider: providerOf(record),
        },
        1,
      );
    }
  }

  private collectBreakerStates(metric: Gauge<InstanceLabel>): void {
    for (const { projectId, instanceId, state } of this.indexedStates()) {
      metric.set(instanceLabels(projectId, instanceId), BREAKER_STATE_CODES[state]);
    }
  }

  private collectBreakerCounts(metric: Gauge<'state'>): void {
    const counts = new Map<BreakerStateName, number>(BREAKER_STATES.map((state) => [state, 0]));
    let notClosed = 0;
    for (const { state } of this.indexedStates()) {
      if (state === 'CLOSED') continue;
      counts.set(state, (counts.get(state) ?? 0) + 1);
      notClosed++;
    }
    // Only reported instances have a record; every record counted is in the index.
    counts.set('CLOSED', this.index.size - notClosed);
    for (const [state, count] of counts) metric.set({ state }, count);
  }

  private collectOpenLeases(metric: Gauge<InstanceLabel>): void {
    for (const [id, stats] of this.stats.entries()) {
      const record = stats.openLeases > 0 ? this.index.get(id) : undefined;
      if (record !== undefined) metric.set(instanceLabels(record.projectId, id), stats.openLeases);
    }
  }

  private collectQuotas(metric: Gauge<InstanceLabel | 'kind'>): void {
    const now = this.clock.now();
    for (const record of this.knownInstances()) {
      const params = readRoutingParams(record.routingParams);
      if (params.rpmLimit === undefined && params.tpmLimit === undefined) continue;
      const { rpm, tpm } = this.quotas.snapshot(record.id, params, now);
      const labels = instanceLabels(record.projectId, record.id);
      // TPM use can exceed the limit: a request larger than the whole limit is let through alone.
      if (rpm.limit !== null) metric.set({ ...labels, kind: 'rpm' }, Math.max(0, rpm.limit - rpm.used));
      if (tpm.limit !== null) metric.set({ ...labels, kind: 'tpm' }, Math.max(0, tpm.limit - tpm.used));
    }
  }

  private collectCoolDowns(metric: Gauge<InstanceLabel>): void {
    const now = this.clock.now();
    for (const record of this.knownInstances()) {
      const { coolDownUntil } = this.quotas.snapshot(record.id, readRoutingParams(record.routingParams), now);
      if (coolDownUntil !== null) metric.set(instanceLabels(record.projectId, record.id), 1);
    }
  }

  /** Breaker states of instances still in the registry (never reported ones have none: CLOSED). */
  private *indexedStates(): Generator<BreakerStateOf> {
    for (const one of this.breakers.states()) if (this.index.get(one.instanceId) !== undefined) yield one;
  }

  /** Every instance in the registry index. */
  private knownInstances(): Iterable<InstanceRecord> {
    return this.index.all();
  }
}

/** `routingParams.provider`, else `metadata.provider` (a string, cut to its first 64 characters), else ''. */
export function providerOf(record: Pick<InstanceRecord, 'routingParams' | 'metadata'>): string {
  const named = [record.routingParams.provider, record.metadata?.provider].find(
    (value): value is string => typeof value === 'string' && value !== '',
  );
  return named === undefined ? '' : named.slice(0, MAX_PROVIDER_LABEL_CHARS);
}

function instanceLabels(projectId: string, instanceId: string): Record<InstanceLabel, string> {
  return { project_id: projectId, instance_id: instanceId };
}

interface MetricDefinition<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly T[];
}

/** A gauge set afresh on every scrape: reset first, so label sets that are gone disappear. */
function gauge<T extends string>(
  registry: Registry,
  definition: MetricDefinition<T> & { readonly read: (metric: Gauge<T>) => void },
): Gauge<T> {
  const { read, ...config } = definition;
  return new Gauge<T>({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      read(this);
    },
  });
}

/** A counter whose running total is kept by its owner (prom-client counters cannot be set). */
function mirroredCounter(
  registry: Registry,
  definition: MetricDefinition<never> & { readonly read: () => number },
): Counter {
  const { read, ...config } = definition;
  return new Counter({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

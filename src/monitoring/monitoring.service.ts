import { Injectable } from '@nestjs/common';
import type { BreakerStateName } from '../circuit-breaker/breaker-transition';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { Clock, InjectClock } from '../common/clock';
import { isoOf } from '../common/iso';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { QuotaService } from '../rate-limit/quota.service';
import type { InstanceRecord, InstanceStatus } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import { CandidatePool } from '../protection/candidate-pool';
import { AdmissionControl, InjectAdmissionControl } from '../protection/admission';
import type { ProjectSettings } from '../tenancy/project-settings';
import { ProjectsService } from '../tenancy/projects.service';
import type {
  GatewayStatus,
  InstanceMonitoringDto,
  InstanceObservationDto,
  MonitoringOverviewDto,
  ObservationOverviewDto,
  SeriesPointDto,
  TimeRange,
  TimeSeriesDto,
  TimeWindow,
} from './dto/monitoring.dto';
import { type MinuteTotals, MinuteQueries, averageLatencyOf, percentileOf, successRateOf } from './minute-queries';

const MINUTE_MS = 60_000;
/** The monitoring overview looks at the last 10 minutes, as the reference did. */
const OVERVIEW_MINUTES = 10;
const RANGE: Readonly<Record<TimeRange, { hours: number; bucketMinutes: number }>> = {
  '1h': { hours: 1, bucketMinutes: 5 },
  '6h': { hours: 6, bucketMinutes: 15 },
  '24h': { hours: 24, bucketMinutes: 60 },
  '7d': { hours: 168, bucketMinutes: 240 },
};
const WINDOW_MS: Readonly<Record<TimeWindow, number>> = {
  '1m': MINUTE_MS,
  '10m': 10 * MINUTE_MS,
  '30m': 30 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '6h': 360 * MINUTE_MS,
  '24h': 1440 * MINUTE_MS,
};
/** Below the breaker's threshold but failing: the share of failures that makes an instance FAULTY. */
const FAULTY_FAILURE_PERCENT = 25;
const FAULTY_MIN_CALLS = 5;
/** The reference's latency limit for DEGRADED. */
const DEGRADED_LATENCY_MS = 5000;

/** What the gateway knows of an instance right now (memory only). */
interface LiveState {
  readonly record: InstanceRecord;
  readonly breakerState: BreakerStateName;
  readonly breakerReason: string;
  readonly gatewayStatus: GatewayStatus;
  readonly selectable: boolean;
  readonly unavailableReason: string | undefined;
}

const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};
const iso = isoOf;

/**
 * The reference's monitoring and observation views, computed from live state (breakers, leases,
 * quotas, the 60 s window) and from `instance_metrics_minute` (anything over time). Admin and
 * project reads only.
 */
@Injectable()
export class MonitoringService {
  constructor(
    private readonly index: RegistryIndex,
    private readonly pool: CandidatePool,
    @InjectAdmissionControl() private readonly admission: AdmissionControl,
    private readonly breakers: BreakerService,
    private readonly quotas: QuotaService,
    private readonly stats: InstanceStatsRegistry,
    private readonly projects: ProjectsService,
    private readonly minutes: MinuteQueries,
    @InjectClock() private readonly clock: Clock,
  ) {}

  async overview(projectId?: string): Promise<MonitoringOverviewDto> {
    const now = this.clock.now();
    const records = this.recordsOf(projectId);
    const projects = await this.projects.summariesOf(projectIds(records));
    const live = records.map((record) => this.live(record, projects.get(record.projectId)?.settings ?? {}, now));
    const totals = await this.minutes.totals({
      from: minuteOf(now) - (OVERVIEW_MINUTES - 1) * MINUTE_MS,
      to: now + 1,
      projectId,
    });
    return {
      totalInstances: records.length,
      healthyInstances: live.filter((one) => one.gatewayStatus === 'HEALTHY').length,
      activeInstances: records.filter((record) => record.status === 'ACTIVE').length,
      averageSuccessRate: round(successRateOf(totals) ?? 0),
      averageLatency: round(averageLatencyOf(totals) ?? 0),
      totalCalls: totals.calls,
      openBreakers: live.filter((one) => isOpen(one.breakerState)).length,
      totalSelections: totals.selections,
      totalTokens: totals.totalTokens,
      totalCost: round(totals.cost, 6),
      p95LatencyMs: percentileOf(totals, 0.95),
      p99LatencyMs: percentileOf(totals, 0.99),
      windowMinutes: OVERVIEW_MINUTES,
    };
  }

  async instances(filter: {
    projectId?: string;
    status?: InstanceStatus;
    gatewayStatus?: GatewayStatus;
  }): Promise<InstanceMonitoringDto[]> {
    const now = this.clock.now();
    const records = this.recordsOf(filter.projectId).filter((r) => !filter.status || r.status === filter.status);
    const projects = await this.projects.summariesOf(projectIds(records));
    const recent = await this.minutes.byInstance({
      from: minuteOf(now) - (OVERVIEW_MINUTES - 1) * MINUTE_MS,
      to: now + 1,
      projectId: filter.projectId,
    });
    const items: InstanceMonitoringDto[] = [];
    for (const record of records) {
      const project = projects.get(record.projectId);
      const live = this.live(record, project?.settings ?? {}, now);
      if (filter.gatewayStatus && live.gatewayStatus !== filter.gatewayStatus) continue;
      const stats = this.stats.get(record.id);
      const window = stats.windowTotals(now);
      const { params } = this.pool.candidateFor(record, now);
      const quotas = this.quotas.snapshot(record.id, params, now);
      const successRate = window.calls > 0 ? (window.successes * 100) / window.calls : 0;
      const totals = recent.get(record.id);
      items.push({
        instanceId: record.id,
        projectId: record.projectId,
        ...(project ? { projectName: project.name } : {}),
        businessId: record.businessId,
        apiIdentifier: record.apiIdentifier,
        apiType: record.apiType,
        status: record.status,
        gatewayStatus: live.gatewayStatus,
        successRate: round(successRate),
        failureRate: window.calls > 0 ? round(100 - successRate) : 0,
        averageLatency: window.calls > 0 ? round(stats.latencyMs) : 0,
        concurrency: stats.openLeases,
        recentCalls: window.calls,
        successCount: window.successes,
        failureCount: window.calls - window.successes,
        ...(stats.lastReportAt !== undefined ? { lastReportedAt: iso(stats.lastReportAt) } : {}),
        priority: params.priority,
        costPerUnit: params.costPerUnit ?? 0,
        weight: params.weight ?? 1,
        breakerState: live.breakerState,
        breakerReason: live.breakerReason,
        p99LatencyMs: totals ? percentileOf(totals, 0.99) : null,
        openLeases: stats.openLeases,
        rpm: quotas.rpm,
        tpm: quotas.tpm,
        coolDownUntil: iso(quotas.coolDownUntil) ?? null,
        selectable: live.selectable,
        ...(live.unavailableReason ? { unavailableReason: live.unavailableReason } : {}),
      });
    }
    return items;
  }

  async timeseries(range: TimeRange, filter: { projectId?: string; instanceId?: string }): Promise<TimeSeriesDto> {
    const now = this.clock.now();
    const { hours, bucketMinutes } = RANGE[range];
    const bucketMs = bucketMinutes * MINUTE_MS;
    const first = Math.floor((now - hours * 3_600_000) / bucketMs) * bucketMs + bucketMs;
    const last = Math.floor(now / bucketMs) * bucketMs;
    const series = await this.minutes.series({ from: first, to: now + 1, ...filter }, bucketMs);
    const points: SeriesPointDto[] = [];
    const result: TimeSeriesDto = { callVolume: [], successRate: [], latency: [], bucketMinutes, points };
    for (let at = first; at <= last; at += bucketMs) {
      const totals = series.get(at);
      points.push(pointOf(at, totals));
      if (totals && totals.calls + totals.selections > 0) {
        const time = new Date(at).toISOString().slice(11, 16);
        result.callVolume.push({ time, value: totals.calls });
        result.successRate.push({ time, value: round(successRateOf(totals) ?? 0) });
        result.latency.push({ time, value: round(averageLatencyOf(totals) ?? 0) });
      }
    }
    return result;
  }

  async observation(
    timeWindow: TimeWindow,
    filter: { projectId?: string; instanceStatus?: InstanceStatus; gatewayStatus?: GatewayStatus },
  ): Promise<{ overview: ObservationOverviewDto; instances: InstanceObservationDto[] }> {
    const now = this.clock.now();
    const records = this.recordsOf(filter.projectId).filter(
      (r) => !filter.instanceStatus || r.status === filter.instanceStatus,
    );
    const projects = await this.projects.summariesOf(projectIds(records));
    const from = minuteOf(now - WINDOW_MS[timeWindow] + 1);
    const byInstance = await this.minutes.byInstance({ from, to: now + 1, projectId: filter.projectId });
    const all = await this.minutes.totals({ from, to: now + 1, projectId: filter.projectId });
    const instances: InstanceObservationDto[] = [];
    const withCalls: { successRate: number; latency: number }[] = [];
    const counts = { healthy: 0, faulty: 0, open: 0, degraded: 0, calls: 0 };
    for (const record of records) {
      const project = projects.get(record.projectId);
      const live = this.live(record, project?.settings ?? {}, now);
      const totals = byInstance.get(record.id);
      if (totals) {
        counts.calls += totals.calls;
        if (live.gatewayStatus === 'HEALTHY') counts.healthy++;
        if (live.gatewayStatus === 'FAULTY') counts.faulty++;
        if (live.gatewayStatus === 'CIRCUIT_BREAKER_OPEN') counts.open++;
        if (live.gatewayStatus === 'DEGRADED') counts.degraded++;
        if (totals.calls > 0) {
          withCalls.push({ successRate: successRateOf(totals) ?? 0, latency: averageLatencyOf(totals) ?? 0 });
        }
      }
      if (filter.gatewayStatus && live.gatewayStatus !== filter.gatewayStatus) continue;
      instances.push({
        ...(project ? { projectName: project.name } : {}),
        apiIdentifier: record.apiIdentifier,
        apiType: record.apiType,
        businessId: record.businessId,
        instanceStatus: record.status,
        gatewayStatus: live.gatewayStatus,
        callCount: totals?.calls ?? 0,
        successRate: round(totals ? (successRateOf(totals) ?? 0) : 0),
        averageLatency: round(totals ? (averageLatencyOf(totals) ?? 0) : 0),
        ...(totals?.lastReportAt ? { lastActiveTime: iso(totals.lastReportAt) } : {}),
        instanceId: record.id,
        projectId: record.projectId,
        failureCount: totals?.failures ?? 0,
        rateLimitedCount: totals?.byOutcome.RATE_LIMITED ?? 0,
        p95LatencyMs: totals ? percentileOf(totals, 0.95) : null,
        p99LatencyMs: totals ? percentileOf(totals, 0.99) : null,
        totalTokens: totals?.totalTokens ?? 0,
        cost: round(totals?.cost ?? 0, 6),
        breakerState: live.breakerState,
      });
    }
    const mean = (values: number[]): number =>
      values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
    return {
      overview: {
        totalInstances: records.length,
        healthyInstances: counts.healthy,
        activeInstances: records.filter((record) => record.status === 'ACTIVE').length,
        faultyInstances: counts.faulty,
        circuitBreakerInstances: counts.open,
        totalCallCount: counts.calls,
        averageSuccessRate: round(mean(withCalls.map((one) => one.successRate))),
        averageLatency: round(mean(withCalls.map((one) => one.latency))),
        degradedInstances: counts.degraded,
        p95LatencyMs: percentileOf(all, 0.95),
        p99LatencyMs: percentileOf(all, 0.99),
        timeWindow,
      },
      instances,
    };
  }

  private recordsOf(projectId: string | undefined): InstanceRecord[] {
    const records = projectId ? [...this.index.listByProject(projectId)] : [...this.index.all()];
    return records.sort((a, b) => a.projectId.localeCompare(b.projectId) || a.businessId.localeCompare(b.businessId));
  }

  private live(record: InstanceRecord, settings: ProjectSettings, now: number): LiveState {
    const candidate = this.pool.candidateFor(record, now);
    const unavailable =
      record.status === 'ACTIVE'
        ? this.admission.check(candidate, now, { settings })
        : { kind: 'status', reason: `status ${record.status}` };
    const breaker = this.breakers.snapshot(record, this.breakers.configFor(record, settings), now);
    const { stats } = candidate;
    return {
      record,
      breakerState: breaker.state,
      breakerReason: breaker.reason,
      gatewayStatus: gatewayStatusOf({
        breakerState: breaker.state,
        coolingDown: unavailable?.kind === 'cooldown',
        calls: stats.calls,
        successes: stats.successes,
        failures: stats.failures,
        latencyMs: stats.latencyMs,
      }),
      selectable: unavailable === undefined,
      unavailableReason: unavailable?.reason,
    };
  }
}

/**
 * The reference's four statuses from what the gateway knows now: an open breaker (OPEN, HALF_OPEN,
 * FORCED_OPEN) is CIRCUIT_BREAKER_OPEN; ≥ 25 % failures among ≥ 5 failure-relevant calls in the
 * last 60 s (not yet enough to trip) is FAULTY; a RATE_LIMITED cool-down or a latency above 5 s is
 * DEGRADED; otherwise HEALTHY. (The reference never assigned FAULTY and judged one calendar minute.)
 */
export function gatewayStatusOf(state: {
  breakerState: BreakerStateName;
  coolingDown: boolean;
  calls: number;
  successes: number;
  failures: number;
  latencyMs: number;
}): GatewayStatus {
  if (isOpen(state.breakerState)) return 'CIRCUIT_BREAKER_OPEN';
  const judged = state.successes + state.failures;
  if (judged >= FAULTY_MIN_CALLS && state.failures * 100 >= FAULTY_FAILURE_PERCENT * judged) return 'FAULTY';
  if (state.coolingDown || (state.calls > 0 && state.latencyMs > DEGRADED_LATENCY_MS)) return 'DEGRADED';
  return 'HEALTHY';
}

function isOpen(state: BreakerStateName): boolean {
  return state === 'OPEN' || state === 'HALF_OPEN' || state === 'FORCED_OPEN';
}

function minuteOf(at: number): number {
  return at - (at % MINUTE_MS);
}

function projectIds(records: readonly InstanceRecord[]): string[] {
  return [...new Set(records.map((record) => record.projectId))];
}

function pointOf(at: number, totals: MinuteTotals | undefined): SeriesPointDto {
  return {
    timestamp: at,
    time: new Date(at).toISOString(),
    calls: totals?.calls ?? 0,
    successes: totals?.successes ?? 0,
    failures: totals?.failures ?? 0,
    selections: totals?.selections ?? 0,
    successRate: totals && totals.calls > 0 ? round(successRateOf(totals) ?? 0) : null,
    averageLatency: totals && totals.calls > 0 ? round(averageLatencyOf(totals) ?? 0) : null,
    p50LatencyMs: totals ? percentileOf(totals, 0.5) : null,
    p95LatencyMs: totals ? percentileOf(totals, 0.95) : null,
    p99LatencyMs: totals ? percentileOf(totals, 0.99) : null,
    totalTokens: totals?.totalTokens ?? 0,
    cost: round(totals?.cost ?? 0, 6),
  };
}

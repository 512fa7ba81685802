import { Injectable } from '@nestjs/common';
import type { BreakerStateName } from '../circuit-breaker/breaker-transition';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { isoOf } from '../common/iso';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { QuotaService } from '../rate-limit/quota.service';
import type { InstanceRecord, InstanceStatus } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import { CandidatePool } from '../protection/candidate-pool';
import { AdmissionControl, InjectAdmissionControl } from '../protection/admission';
import { LAST_ERROR_MESSAGE_CHARS, LastErrors } from '../reporting/last-errors';
import type { ProjectSettings } from '../tenancy/project-settings';
import { ProjectsService } from '../tenancy/projects.service';
import type {
  FleetDegradedApiDto,
  FleetDto,
  FleetOpenBreakerDto,
  FleetProjectDto,
  GatewayStatus,
  InstanceMonitoringDto,
  InstanceObservationDto,
  InstanceSeriesDto,
  LastErrorDto,
  MonitoringOverviewDto,
  ObservationOverviewDto,
  SeriesPointDto,
  TimeRange,
  TimeSeriesDto,
  TimeWindow,
} from './dto/monitoring.dto';
import { ERROR_CLASSES, type ResolvedWindow, figuresOf, percentOf, rangeAt, round, windowAt } from './figures';
import { type MinuteTotals, MinuteQueries, sumTotals } from './minute-queries';

/** The monitoring overview's default window, as the reference's "last 10 minutes". */
const OVERVIEW_WINDOW: TimeWindow = '10m';
/** Below the breaker's threshold but failing: the share of failures that makes an instance FAULTY. */
const FAULTY_FAILURE_PERCENT = 25;
const FAULTY_MIN_CALLS = 5;
/** The share of rate-limited calls in the last 60 s that makes an instance DEGRADED. */
const DEGRADED_RATE_LIMITED_PERCENT = 25;
/** The reference's latency limit for DEGRADED. */
const DEGRADED_LATENCY_MS = 5000;

const EMPTY_TOTALS: MinuteTotals = Object.freeze({
  selections: 0,
  calls: 0,
  successes: 0,
  failures: 0,
  byOutcome: Object.freeze({
    SERVER_ERROR: 0,
    TIMEOUT: 0,
    RATE_LIMITED: 0,
    AUTH_ERROR: 0,
    CLIENT_ERROR: 0,
    UNKNOWN: 0,
  }),
  latencySumMs: 0,
  latencyMaxMs: 0,
  latencyBuckets: Object.freeze([]),
  ttftCount: 0,
  ttftSumMs: 0,
  ttftBuckets: Object.freeze([]),
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  cost: 0,
  maxOpenLeases: 0,
  lastReportAt: null,
});

/** What the gateway knows of an instance right now (memory only). */
interface LiveState {
  readonly record: InstanceRecord;
  readonly breakerState: BreakerStateName;
  readonly breakerReason: string;
  readonly breakerSince: number | null;
  readonly nextProbeAt: number | null;
  readonly gatewayStatus: GatewayStatus;
  readonly selectable: boolean;
  readonly unavailableReason: string | undefined;
}

const iso = isoOf;
const isoOrNull = (at: number | null | undefined): string | null => isoOf(at) ?? null;

/**
 * The reference's monitoring and observation views, the fleet view and the series: live state
 * (breakers, leases, quotas, the 60 s window) for what is true now, and `instance_metrics_minute`
 * for every call figure, each over a named window and computed by ./figures. Admin and project
 * reads only.
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
    private readonly lastErrors: LastErrors,
    @InjectClock() private readonly clock: Clock,
  ) {}

  async overview(projectId?: string, timeWindow: TimeWindow = OVERVIEW_WINDOW): Promise<MonitoringOverviewDto> {
    const now = this.clock.now();
    const window = windowAt(timeWindow, now);
    const records = this.recordsOf(projectId);
    const projects = await this.projects.summariesOf(projectIds(records));
    const live = records.map((record) => this.live(record, projects.get(record.projectId)?.settings ?? {}, now));
    const totals = await this.minutes.totals({ from: window.from, to: window.to, projectId });
    const figures = figuresOf(totals);
    return {
      totalInstances: records.length,
      healthyInstances: live.filter((one) => one.gatewayStatus === 'HEALTHY').length,
      activeInstances: records.filter((record) => record.status === 'ACTIVE').length,
      averageSuccessRate: figures.successRate,
      averageLatency: figures.averageLatencyMs ?? 0,
      totalCalls: figures.calls,
      openBreakers: live.filter((one) => isOpen(one.breakerState)).length,
      totalSelections: totals.selections,
      totalTokens: figures.totalTokens,
      totalCost: figures.cost,
      p95LatencyMs: figures.p95LatencyMs,
      p99LatencyMs: figures.p99LatencyMs,
      windowMinutes: window.minutes,
      window: window.name,
      windowStart: iso(window.from)!,
      windowEnd: iso(window.end)!,
      p50LatencyMs: figures.p50LatencyMs,
      failureRate: figures.failureRate,
      rateLimitedRate: figures.rateLimitedRate,
      callerErrorRate: figures.callerErrorRate,
    };
  }

  async instances(filter: {
    projectId?: string;
    status?: InstanceStatus;
    gatewayStatus?: GatewayStatus;
    timeWindow?: TimeWindow;
  }): Promise<InstanceMonitoringDto[]> {
    const now = this.clock.now();
    const window = windowAt(filter.timeWindow ?? OVERVIEW_WINDOW, now);
    const all = this.recordsOf(filter.projectId);
    const records = all.filter((r) => !filter.status || r.status === filter.status);
    const projects = await this.projects.summariesOf(projectIds(records));
    const byInstance = await this.minutes.byInstance({ from: window.from, to: window.to, projectId: filter.projectId });
    const apiCalls = callsByApi(all, byInstance);
    const items: InstanceMonitoringDto[] = [];
    for (const record of records) {
      const project = projects.get(record.projectId);
      const live = this.live(record, project?.settings ?? {}, now);
      if (filter.gatewayStatus && live.gatewayStatus !== filter.gatewayStatus) continue;
      const stats = this.stats.get(record.id);
      const lastMinute = stats.windowTotals(now);
      const { params } = this.pool.candidateFor(record, now);
      const quotas = this.quotas.snapshot(record.id, params, now);
      const figures = figuresOf(byInstance.get(record.id) ?? EMPTY_TOTALS);
      const groupCalls = apiCalls.get(apiKeyOf(record)) ?? 0;
      items.push({
        instanceId: record.id,
        projectId: record.projectId,
        ...(project ? { projectName: project.name } : {}),
        businessId: record.businessId,
        apiIdentifier: record.apiIdentifier,
        apiType: record.apiType,
        status: record.status,
        gatewayStatus: live.gatewayStatus,
        successRate: figures.successRate,
        failureRate: figures.failureRate,
        averageLatency: figures.averageLatencyMs ?? 0,
        concurrency: stats.openLeases,
        recentCalls: figures.calls,
        successCount: figures.successes,
        failureCount: figures.failures,
        ...(stats.lastReportAt !== undefined ? { lastReportedAt: iso(stats.lastReportAt) } : {}),
        priority: params.priority,
        costPerUnit: params.costPerUnit ?? 0,
        weight: params.weight ?? 1,
        breakerState: live.breakerState,
        breakerReason: live.breakerReason,
        p99LatencyMs: figures.p99LatencyMs,
        openLeases: stats.openLeases,
        // Without a limit nothing is counted against one: show what the instance served instead.
        rpm: quotas.rpm.limit === null ? { limit: null, used: lastMinute.calls } : quotas.rpm,
        tpm: quotas.tpm.limit === null ? { limit: null, used: Math.round(lastMinute.totalTokens) } : quotas.tpm,
        coolDownUntil: iso(quotas.coolDownUntil) ?? null,
        selectable: live.selectable,
        ...(live.unavailableReason ? { unavailableReason: live.unavailableReason } : {}),
        window: window.name,
        windowStart: iso(window.from)!,
        rateLimitedRate: figures.rateLimitedRate,
        callerErrorRate: figures.callerErrorRate,
        rateLimitedCount: figures.rateLimited,
        callerErrorCount: figures.callerErrors,
        p50LatencyMs: figures.p50LatencyMs,
        p95LatencyMs: figures.p95LatencyMs,
        totalTokens: figures.totalTokens,
        cost: figures.cost,
        errorClasses: figures.errorClasses,
        lastError: this.lastErrorOf(record.id),
        nextProbeAt: isoOrNull(live.nextProbeAt),
        trafficSharePercent: percentOf(figures.calls, groupCalls),
        latencyScoreMs: round(stats.latencyMs),
      });
    }
    return items;
  }

  async timeseries(range: TimeRange, filter: { projectId?: string; instanceId?: string }): Promise<TimeSeriesDto> {
    const now = this.clock.now();
    const { first, last, bucketMs, bucketMinutes } = rangeAt(range, now);
    const series = await this.minutes.series({ from: first, to: now + 1, ...filter }, bucketMs);
    const points: SeriesPointDto[] = [];
    const result: TimeSeriesDto = {
      callVolume: [],
      successRate: [],
      latency: [],
      bucketMinutes,
      points,
      timeRange: range,
    };
    for (let at = first; at <= last; at += bucketMs) {
      const totals = series.get(at);
      points.push(pointOf(at, totals));
      if (totals && totals.calls + totals.selections > 0) {
        const time = new Date(at).toISOString().slice(11, 16);
        const figures = figuresOf(totals);
        result.callVolume.push({ time, value: totals.calls });
        result.successRate.push({ time, value: figures.successRate });
        result.latency.push({ time, value: figures.averageLatencyMs ?? 0 });
      }
    }
    return result;
  }

  /** Several instances' points over `range`, for charts side by side (404 naming an unknown id). */
  async instanceSeries(instanceIds: readonly string[], range: TimeRange): Promise<InstanceSeriesDto[]> {
    const ids = [...new Set(instanceIds)];
    const unknown = ids.filter((id) => this.index.get(id) === undefined);
    if (unknown.length > 0) {
      throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${unknown[0]} not found`, {
        details: [{ field: 'instanceIds', message: `unknown instances: ${unknown.join(', ')}` }],
      });
    }
    const now = this.clock.now();
    const { first, last, bucketMs, bucketMinutes } = rangeAt(range, now);
    const series = await this.minutes.seriesByInstance({ from: first, to: now + 1, instanceIds: ids }, bucketMs);
    return ids.map((instanceId) => {
      const byBucket = series.get(instanceId) ?? new Map<number, MinuteTotals>();
      const points: SeriesPointDto[] = [];
      for (let at = first; at <= last; at += bucketMs) points.push(pointOf(at, byBucket.get(at)));
      return { instanceId, businessId: this.index.get(instanceId)!.businessId, bucketMinutes, points };
    });
  }

  async observation(
    timeWindow: TimeWindow,
    filter: { projectId?: string; instanceStatus?: InstanceStatus; gatewayStatus?: GatewayStatus },
  ): Promise<{ overview: ObservationOverviewDto; instances: InstanceObservationDto[] }> {
    const now = this.clock.now();
    const window = windowAt(timeWindow, now);
    const records = this.recordsOf(filter.projectId).filter(
      (r) => !filter.instanceStatus || r.status === filter.instanceStatus,
    );
    const projects = await this.projects.summariesOf(projectIds(records));
    const range = { from: window.from, to: window.to, projectId: filter.projectId };
    const byInstance = await this.minutes.byInstance(range);
    // Filtered by instance status: the call figures cover the instances listed, not the project's others.
    const all = figuresOf(
      filter.instanceStatus
        ? sumTotals(records.flatMap((r) => byInstance.get(r.id) ?? []))
        : await this.minutes.totals(range),
    );
    const instances: InstanceObservationDto[] = [];
    const counts = { healthy: 0, faulty: 0, open: 0, degraded: 0 };
    for (const record of records) {
      const project = projects.get(record.projectId);
      const live = this.live(record, project?.settings ?? {}, now);
      const totals = byInstance.get(record.id);
      if (live.gatewayStatus === 'HEALTHY') counts.healthy++;
      if (live.gatewayStatus === 'FAULTY') counts.faulty++;
      if (live.gatewayStatus === 'CIRCUIT_BREAKER_OPEN') counts.open++;
      if (live.gatewayStatus === 'DEGRADED') counts.degraded++;
      if (filter.gatewayStatus && live.gatewayStatus !== filter.gatewayStatus) continue;
      const figures = figuresOf(totals ?? EMPTY_TOTALS);
      instances.push({
        ...(project ? { projectName: project.name } : {}),
        apiIdentifier: record.apiIdentifier,
        apiType: record.apiType,
        businessId: record.businessId,
        instanceStatus: record.status,
        gatewayStatus: live.gatewayStatus,
        callCount: figures.calls,
        successRate: figures.successRate,
        averageLatency: figures.averageLatencyMs ?? 0,
        ...(totals?.lastReportAt ? { lastActiveTime: iso(totals.lastReportAt) } : {}),
        instanceId: record.id,
        projectId: record.projectId,
        failureCount: figures.failures,
        rateLimitedCount: figures.rateLimited,
        p95LatencyMs: figures.p95LatencyMs,
        p99LatencyMs: figures.p99LatencyMs,
        totalTokens: figures.totalTokens,
        cost: figures.cost,
        breakerState: live.breakerState,
        window: window.name,
        failureRate: figures.failureRate,
        rateLimitedRate: figures.rateLimitedRate,
        callerErrorRate: figures.callerErrorRate,
        callerErrorCount: figures.callerErrors,
        p50LatencyMs: figures.p50LatencyMs,
      });
    }
    return {
      overview: {
        totalInstances: records.length,
        healthyInstances: counts.healthy,
        activeInstances: records.filter((record) => record.status === 'ACTIVE').length,
        faultyInstances: counts.faulty,
        circuitBreakerInstances: counts.open,
        totalCallCount: all.calls,
        averageSuccessRate: all.successRate,
        averageLatency: all.averageLatencyMs ?? 0,
        degradedInstances: counts.degraded,
        p95LatencyMs: all.p95LatencyMs,
        p99LatencyMs: all.p99LatencyMs,
        timeWindow,
        window: window.name,
        windowStart: iso(window.from)!,
        windowEnd: iso(window.end)!,
        failureRate: all.failureRate,
        rateLimitedRate: all.rateLimitedRate,
        callerErrorRate: all.callerErrorRate,
        totalTokens: all.totalTokens,
        totalCost: all.cost,
      },
      instances,
    };
  }

  /** Every project at a glance: call figures over `timeWindow`, breakers and statuses now. */
  async fleet(timeWindow: TimeWindow): Promise<FleetDto> {
    const now = this.clock.now();
    const window: ResolvedWindow = windowAt(timeWindow, now);
    const records = this.recordsOf(undefined);
    const [projectRows, summaries, byInstance, totals] = await Promise.all([
      this.minutes.projects(),
      this.projects.summariesOf(projectIds(records)),
      this.minutes.byInstance({ from: window.from, to: window.to }),
      this.minutes.totals({ from: window.from, to: window.to }),
    ]);
    const perProject = new Map<string, FleetProjectDto>(
      projectRows
        .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
        .map((project) => [
          project.id,
          {
            projectId: project.id,
            name: project.name,
            instances: 0,
            openBreakers: 0,
            degradedApis: 0,
            calls: 0,
            successRate: 0,
          },
        ]),
    );
    const successes = new Map<string, number>();
    const apis = new Map<string, FleetDegradedApiDto & { unhealthy: number; calls: number; successes: number }>();
    const openBreakers: FleetOpenBreakerDto[] = [];
    for (const record of records) {
      const live = this.live(record, summaries.get(record.projectId)?.settings ?? {}, now);
      const instanceTotals = byInstance.get(record.id) ?? EMPTY_TOTALS;
      const project = perProject.get(record.projectId);
      if (project) {
        project.instances++;
        if (isOpen(live.breakerState)) project.openBreakers++;
        project.calls += instanceTotals.calls;
        successes.set(project.projectId, (successes.get(project.projectId) ?? 0) + instanceTotals.successes);
      }
      if (isOpen(live.breakerState)) {
        openBreakers.push({
          instanceId: record.id,
          projectId: record.projectId,
          businessId: record.businessId,
          apiIdentifier: record.apiIdentifier,
          state: live.breakerState,
          reason: live.breakerReason,
          since: isoOrNull(live.breakerSince),
          nextProbeAt: isoOrNull(live.nextProbeAt),
        });
      }
      const key = apiKeyOf(record);
      let api = apis.get(key);
      if (!api) {
        api = {
          projectId: record.projectId,
          apiIdentifier: record.apiIdentifier,
          apiType: record.apiType,
          instances: 0,
          available: 0,
          successRate: null,
          unhealthy: 0,
          calls: 0,
          successes: 0,
        };
        apis.set(key, api);
      }
      api.calls += instanceTotals.calls;
      api.successes += instanceTotals.successes;
      if (record.status === 'ACTIVE') {
        api.instances++;
        if (live.selectable) api.available++;
        if (live.gatewayStatus !== 'HEALTHY') api.unhealthy++;
      }
    }
    const degradedApis: FleetDegradedApiDto[] = [];
    for (const api of apis.values()) {
      if (api.unhealthy === 0) continue;
      const project = perProject.get(api.projectId);
      if (project) project.degradedApis++;
      degradedApis.push({
        projectId: api.projectId,
        apiIdentifier: api.apiIdentifier,
        apiType: api.apiType,
        instances: api.instances,
        available: api.available,
        successRate: api.calls > 0 ? percentOf(api.successes, api.calls) : null,
      });
    }
    for (const project of perProject.values()) {
      project.successRate = percentOf(successes.get(project.projectId) ?? 0, project.calls);
    }
    const figures = figuresOf(totals);
    const topErrorClasses = ERROR_CLASSES.map((outcome) => ({ outcome, calls: figures.errorClasses[outcome] }))
      .filter((one) => one.calls > 0)
      .sort((a, b) => b.calls - a.calls || a.outcome.localeCompare(b.outcome));
    return {
      window: window.name,
      windowStart: iso(window.from)!,
      generatedAt: iso(now)!,
      totals: {
        projects: perProject.size,
        instances: records.length,
        openBreakers: openBreakers.length,
        degradedApis: degradedApis.length,
        calls: figures.calls,
        successRate: figures.successRate,
      },
      projects: [...perProject.values()],
      openBreakers,
      degradedApis,
      topErrorClasses,
    };
  }

  private lastErrorOf(instanceId: string): LastErrorDto | null {
    const last = this.lastErrors.get(instanceId);
    if (!last) return null;
    return {
      at: iso(last.at)!,
      outcome: last.outcome,
      ...(last.statusCode !== undefined ? { statusCode: last.statusCode } : {}),
      ...(last.message !== undefined ? { message: last.message.slice(0, LAST_ERROR_MESSAGE_CHARS) } : {}),
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
    const rateLimited = stats.calls > 0 ? this.stats.get(record.id).windowTotals(now).byOutcome.RATE_LIMITED : 0;
    return {
      record,
      breakerState: breaker.state,
      breakerReason: breaker.reason,
      breakerSince: breaker.since,
      nextProbeAt: breaker.nextProbeAt,
      gatewayStatus: gatewayStatusOf({
        breakerState: breaker.state,
        coolingDown: unavailable?.kind === 'cooldown',
        calls: stats.calls,
        successes: stats.successes,
        failures: stats.failures,
        rateLimited,
        latencyMs: stats.latencyMs,
      }),
      selectable: unavailable === undefined,
      unavailableReason: unavailable?.reason,
    };
  }
}

/**
 * The reference's four statuses from what the gateway knows now (the last 60 s): an open breaker
 * (OPEN, HALF_OPEN, FORCED_OPEN) is CIRCUIT_BREAKER_OPEN; ≥ 25 % backend failures among ≥ 5
 * failure-relevant calls (not yet enough to trip) is FAULTY; a RATE_LIMITED cool-down, rate limits
 * on ≥ 25 % of the calls, or a latency score above 5 s is DEGRADED; otherwise HEALTHY. Rate limits
 * never count as failures: an instance that only answers 429 is DEGRADED (reachable, out of
 * capacity), not FAULTY, and never HEALTHY.
 */
export function gatewayStatusOf(state: {
  breakerState: BreakerStateName;
  coolingDown: boolean;
  calls: number;
  successes: number;
  failures: number;
  rateLimited?: number;
  latencyMs: number;
}): GatewayStatus {
  if (isOpen(state.breakerState)) return 'CIRCUIT_BREAKER_OPEN';
  const judged = state.successes + state.failures;
  if (judged >= FAULTY_MIN_CALLS && state.failures * 100 >= FAULTY_FAILURE_PERCENT * judged) return 'FAULTY';
  const rateLimited = state.rateLimited ?? 0;
  if (rateLimited > 0 && rateLimited * 100 >= DEGRADED_RATE_LIMITED_PERCENT * state.calls) return 'DEGRADED';
  if (state.coolingDown || (state.calls > 0 && state.latencyMs > DEGRADED_LATENCY_MS)) return 'DEGRADED';
  return 'HEALTHY';
}

function isOpen(state: BreakerStateName): boolean {
  return state === 'OPEN' || state === 'HALF_OPEN' || state === 'FORCED_OPEN';
}

function projectIds(records: readonly InstanceRecord[]): string[] {
  return [...new Set(records.map((record) => record.projectId))];
}

/** The traffic-share group of an instance: its project's apiIdentifier of one apiType. */
function apiKeyOf(record: InstanceRecord): string {
  return `${record.projectId}|${record.apiType}|${record.apiIdentifier}`;
}

function callsByApi(
  records: readonly InstanceRecord[],
  byInstance: ReadonlyMap<string, MinuteTotals>,
): Map<string, number> {
  const calls = new Map<string, number>();
  for (const record of records) {
    const key = apiKeyOf(record);
    calls.set(key, (calls.get(key) ?? 0) + (byInstance.get(record.id)?.calls ?? 0));
  }
  return calls;
}

function pointOf(at: number, totals: MinuteTotals | undefined): SeriesPointDto {
  const figures = figuresOf(totals ?? EMPTY_TOTALS);
  const called = figures.calls > 0;
  return {
    timestamp: at,
    time: new Date(at).toISOString(),
    calls: figures.calls,
    successes: figures.successes,
    failures: figures.failures,
    selections: totals?.selections ?? 0,
    successRate: called ? figures.successRate : null,
    averageLatency: figures.averageLatencyMs,
    p50LatencyMs: figures.p50LatencyMs,
    p95LatencyMs: figures.p95LatencyMs,
    p99LatencyMs: figures.p99LatencyMs,
    totalTokens: figures.totalTokens,
    cost: figures.cost,
    rateLimited: figures.rateLimited,
    callerErrors: figures.callerErrors,
    failureRate: called ? figures.failureRate : null,
    rateLimitedRate: called ? figures.rateLimitedRate : null,
    callerErrorRate: called ? figures.callerErrorRate : null,
  };
}

import { Injectable } from '@nestjs/common';
import { BreakerService } from '../circuit-breaker/breaker.service';
import { Clock, InjectClock } from '../common/clock';
import { isoOf } from '../common/iso';
import { GatewayError } from '../common/gateway-error';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import { QuotaService } from '../rate-limit/quota.service';
import type { InstanceRecord } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import type { ProjectSettings } from '../tenancy/project-settings';
import { CandidatePool } from './candidate-pool';
import type { CircuitCommand, InstanceHealthDto } from './dto/instance-health.dto';
import { AdmissionControl, InjectAdmissionControl } from './admission';

const iso = (at: number | null | undefined): string | null => isoOf(at) ?? null;

/**
 * The health of one instance as operators see it (`GET /api/instances/{id}/health`) and the
 * operator's circuit control. Reads memory only.
 */
@Injectable()
export class InstanceHealthService {
  constructor(
    private readonly index: RegistryIndex,
    private readonly pool: CandidatePool,
    @InjectAdmissionControl() private readonly admission: AdmissionControl,
    private readonly breakers: BreakerService,
    private readonly quotas: QuotaService,
    private readonly stats: InstanceStatsRegistry,
    @InjectClock() private readonly clock: Clock,
  ) {}

  /** The instance, if it exists and (when `projectId` is given) belongs to that project; else 404. */
  instance(id: string, projectId?: string): InstanceRecord {
    const record = this.index.get(id);
    if (!record || (projectId !== undefined && record.projectId !== projectId)) {
      throw new GatewayError('INSTANCE_NOT_FOUND', `Instance ${id} not found`);
    }
    return record;
  }

  health(record: InstanceRecord, settings: ProjectSettings): InstanceHealthDto {
    const now = this.clock.now();
    const candidate = this.pool.candidateFor(record, now);
    const { params, stats } = candidate;
    const config = this.breakers.configFor(record, settings);
    const unavailable =
      record.status === 'ACTIVE'
        ? this.admission.check(candidate, now, { settings })
        : { kind: 'status', reason: `status ${record.status}`, retryAt: undefined };
    const breaker = this.breakers.snapshot(record, config, now);
    const quotas = this.quotas.snapshot(record.id, params, now);
    const window = this.stats.get(record.id).windowTotals(now);
    return {
      instanceId: record.id,
      businessId: record.businessId,
      status: record.status,
      selectable: unavailable === undefined,
      ...(unavailable ? { reason: unavailable.reason } : {}),
      ...(unavailable?.retryAt !== undefined ? { retryAt: iso(unavailable.retryAt)! } : {}),
      breaker: {
        state: breaker.state,
        reason: breaker.reason,
        since: iso(breaker.since),
        nextProbeAt: iso(breaker.nextProbeAt),
        trips: breaker.trips,
        consecutiveFailures: breaker.consecutiveFailures,
        probesInFlight: breaker.probesInFlight,
        probeSuccesses: breaker.probeSuccesses,
        window: breaker.window,
        config: { ...config, slowCallMs: config.slowCallMs ?? null },
      },
      quotas: {
        rpm: quotas.rpm,
        tpm: quotas.tpm,
        concurrency: { limit: params.maxConcurrency ?? null, open: stats.openLeases },
        coolDownUntil: iso(quotas.coolDownUntil),
      },
      window: {
        calls: window.calls,
        successes: window.successes,
        failures: window.failures,
        byOutcome: { ...window.byOutcome },
        promptTokens: window.promptTokens,
        completionTokens: window.completionTokens,
        totalTokens: window.totalTokens,
        cost: window.cost,
      },
      latencyMs: Math.round(stats.latencyMs),
      ttftMs: stats.ttftMs === undefined ? null : Math.round(stats.ttftMs),
      slowStartFactor: stats.slowStartFactor,
      lastReportAt: iso(stats.lastReportAt),
    };
  }

  setCircuit(record: InstanceRecord, state: CircuitCommand, actor?: string): void {
    this.breakers.setOperatorState(record, state, this.clock.now(), actor);
  }
}

import { DiscoveryModule } from '@nestjs/core';
import { Test, type TestingModule, type TestingModuleBuilder } from '@nestjs/testing';
import { BreakerTransitions } from '../../circuit-breaker/breaker-transition';
import { BreakerService } from '../../circuit-breaker/breaker.service';
import { Clock, FakeClock } from '../../common/clock';
import { GatewayError } from '../../common/gateway-error';
import { loadConfig } from '../../config/app-config';
import { ConfigModule } from '../../config/config.module';
import type { MinuteBucket } from '../../minute-metrics/minute-bucket';
import { MinuteAggregator } from '../../minute-metrics/minute-aggregator';
import { MinuteMetricsStore } from '../../minute-metrics/minute-metrics.store';
import { GatewayMetrics } from '../../prometheus/gateway-metrics';
import { AdmissionControl } from '../../protection/admission';
import { AdmissionService } from '../../protection/admission.service';
import { CandidatePool } from '../../protection/candidate-pool';
import { LeaseManager } from '../../protection/lease-manager';
import { QuotaService } from '../../rate-limit/quota.service';
import type { InstanceRecord } from '../../registry/instance-record';
import { RegistryIndex } from '../../registry/registry-index';
import { ReportService } from '../../reporting/report.service';
import type { ReportResultDto } from '../../reporting/dto/report-result.dto';
import { StateModule } from '../../state/state.module';
import { InstanceStatsRegistry } from '../../statistics/instance-stats-registry';
import type { ProjectPrincipal } from '../../tenancy/principal';
import type { ProjectSettings } from '../../tenancy/project-settings';
import type { SelectInstanceDto, SelectedInstanceDto } from '../dto/select-instance.dto';
import { SelectionService } from '../selection.service';
import { BUILTIN_STRATEGIES } from '../strategies/builtin-strategies';
import { StrategyRegistry } from '../strategy-registry';

/**
 * The decision loop without HTTP or a database, for unit specs of SelectionService and
 * ReportService: the real providers (registry index, candidate pool, leases, admission, breakers,
 * quotas, statistics, minute aggregator, strategies, memory state stores) wired by a Nest testing
 * module, a FakeClock as the Clock, and a fake minute store that keeps what a flush writes.
 */

export const PROJECT_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const OTHER_PROJECT_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const CREATED = new Date(Date.UTC(2025, 11, 1));

/** A minute row as the fake store received it. */
export interface WrittenMinute {
  readonly instanceId: string;
  readonly minute: number;
  readonly calls: number;
  readonly selections: number;
}

/** Keeps every row a flush writes; never fails. */
export class FakeMinuteStore {
  readonly written: WrittenMinute[] = [];

  upsert(buckets: readonly MinuteBucket[]): Promise<void> {
    for (const b of buckets) {
      this.written.push({ instanceId: b.instanceId, minute: b.minute, calls: b.calls, selections: b.selections });
    }
    return Promise.resolve();
  }

  existingProjects(ids: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(ids));
  }

  purgeBefore(): Promise<number> {
    return Promise.resolve(0);
  }
}

/** Instance id `n` as 32 hex characters. */
export function instanceId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

/** An ACTIVE MODEL instance `n` of `gpt-4o` in the test project, businessId `b<n>`. */
export function instanceRecord(n: number, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: instanceId(n),
    projectId: PROJECT_ID,
    userId: null,
    apiIdentifier: 'gpt-4o',
    apiType: 'MODEL',
    businessId: `b${n}`,
    routingParams: {},
    metadata: null,
    endpoint: null,
    status: 'ACTIVE',
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

/** The caller: a project key with every scope and the given settings. */
export function projectPrincipal(settings: ProjectSettings = {}, projectId = PROJECT_ID): ProjectPrincipal {
  return { kind: 'project', projectId, keyId: 'k'.repeat(32), keyPrefix: 'agw_test', scopes: null, settings };
}

export interface DecisionLoop {
  readonly module: TestingModule;
  readonly clock: FakeClock;
  readonly index: RegistryIndex;
  readonly selection: SelectionService;
  readonly reports: ReportService;
  readonly leases: LeaseManager;
  readonly breakers: BreakerService;
  readonly minutes: MinuteAggregator;
  readonly store: FakeMinuteStore;
  /** Puts records into the registry index (as a committed write would). */
  register(...records: InstanceRecord[]): void;
  /** A report of `instance` for the test project: success, 120 ms, at the clock's now, `body` overriding. */
  reportOf(instance: number, body?: Partial<ReportResultDto>): ReportResultDto;
  /** Selects for the test project: `gpt-4o`, MODEL, `lowest-cost` (a predictable pick), `request` overriding. */
  select(request?: Partial<SelectInstanceDto>, settings?: ProjectSettings): SelectedInstanceDto;
  /** Five SERVER_ERROR reports of `instance`: its breaker opens for 30 s (no jitter at random 0.5). */
  trip(instance: number): void;
  close(): Promise<void>;
}

/** How a spec changes the loop: its clock (e.g. one shared by several loops), providers swapped in. */
export interface DecisionLoopOptions {
  readonly clock?: FakeClock;
  /** E.g. `(builder) => builder.overrideProvider(CounterStore).useValue(store)`. */
  readonly configure?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

/** Builds and initialises the module; `random` makes strategies and breaker jitter deterministic. */
export async function createDecisionLoop(
  random: () => number = () => 0.5,
  options: DecisionLoopOptions = {},
): Promise<DecisionLoop> {
  const clock = options.clock ?? new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const store = new FakeMinuteStore();
  const builder = Test.createTestingModule({
    // Global, as in the app: the state seams read the configuration too (SingleNodeStatus).
    imports: [
      DiscoveryModule,
      ConfigModule.forRoot(loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', LOG_LEVEL: 'silent' })),
      StateModule,
    ],
    providers: [
      { provide: Clock, useValue: clock },
      { provide: MinuteMetricsStore, useValue: store },
      RegistryIndex,
      CandidatePool,
      LeaseManager,
      AdmissionService,
      { provide: AdmissionControl, useExisting: AdmissionService },
      BreakerService,
      BreakerTransitions,
      QuotaService,
      InstanceStatsRegistry,
      MinuteAggregator,
      GatewayMetrics,
      ...BUILTIN_STRATEGIES,
      StrategyRegistry,
      SelectionService,
      ReportService,
    ],
  }).setLogger({ log: () => undefined, error: () => undefined, warn: () => undefined });
  const module = await (options.configure?.(builder) ?? builder).compile();
  await module.init();
  const selection = module.get(SelectionService);
  const breakers = module.get(BreakerService);
  selection.random = random;
  breakers.random = random;
  const index = module.get(RegistryIndex);
  const reports = module.get(ReportService);
  const reportOf = (n: number, body: Partial<ReportResultDto> = {}): ReportResultDto => ({
    instanceId: instanceId(n),
    businessId: `b${n}`,
    success: true,
    latencyMs: 120,
    callTimestamp: clock.now(),
    ...body,
  });
  return {
    module,
    clock,
    index,
    selection,
    reports,
    leases: module.get(LeaseManager),
    breakers,
    minutes: module.get(MinuteAggregator),
    store,
    register: (...records) => {
      for (const record of records) index.upsert(record);
    },
    reportOf,
    select: (request = {}, settings = {}) =>
      selection.select(projectPrincipal(settings), {
        apiIdentifier: 'gpt-4o',
        apiType: 'MODEL',
        strategy: 'lowest-cost',
        ...request,
      }),
    trip: (n) => {
      for (let i = 0; i < 5; i++) reports.report(projectPrincipal(), reportOf(n, { success: false, statusCode: 503 }));
    },
    close: () => module.close(),
  };
}

/** Instance `n` costing `n` per unit (so `lowest-cost` prefers the lower number), `routingParams` added. */
export function costedInstance(
  n: number,
  routingParams: Record<string, unknown> = {},
  overrides: Partial<InstanceRecord> = {},
): InstanceRecord {
  return instanceRecord(n, { ...overrides, routingParams: { costPerUnit: n, ...routingParams } });
}

/** The GatewayError `work` throws (fails the test when it throws nothing, or something else). */
export function gatewayErrorOf(work: () => unknown): GatewayError {
  try {
    work();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

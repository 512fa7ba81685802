import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock, InjectClock } from '../common/clock';
import { APP_CONFIG, type AppConfig, type LimitsConfig } from '../config/app-config';
import { MinuteAggregator } from '../minute-metrics/minute-aggregator';
import { GatewayMetrics } from '../prometheus/gateway-metrics';
import { GatewayError } from '../common/gateway-error';
import type { InstanceRecord } from '../registry/instance-record';
import { RegistryIndex } from '../registry/registry-index';
import { AffinityStore, InjectAffinityStore } from '../state/affinity-store';
import { EventBus, InjectEventBus, forgetDeletedProjects } from '../state/event-bus';
import { CostBudget } from '../common/cost-budget';
import type { ProjectPrincipal } from '../tenancy/principal';
import { CandidatePool } from '../protection/candidate-pool';
import type { SelectInstanceDto, SelectedInstanceDto } from './dto/select-instance.dto';
import { explainSelection } from './explain';
import { type AdmissionRequest, AdmissionControl, InjectAdmissionControl } from '../protection/admission';
import { LeaseManager } from '../protection/lease-manager';
import { type Attempt, type Judged, bestTierOf, topTier } from './selection-attempt';
import { leaseLimitReached, noSelectableInstance, selectionBudgetExhausted } from './selection-errors';
import type { Candidate, SelectionContext, SelectionStrategyHandler } from './selection-strategy';
import { StrategyRegistry } from './strategy-registry';

const DEFAULT_STRATEGY = 'smart';
const EXCLUDED = { kind: 'excluded', reason: 'excluded by the request' } as const;
const DEFAULT_LEASE_TTL_MS = 60_000;
/** A lease derived from the instance's `timeoutMs` outlives the call by this much. */
const TIMEOUT_GRACE_MS = 5000;
const DEFAULT_AFFINITY_TTL_MS = 30 * 60_000;

/**
 * select-instance (docs/resilience.md §4–5): candidates from the registry index → not selectable
 * dropped (health view, exclusions) → highest non-empty priority tier → affinity → strategy, for
 * the primary identifier and then each fallback entry; a lease for the chosen one. Memory only.
 */
@Injectable()
export class SelectionService implements OnModuleInit, OnModuleDestroy {
  /** Uniform in [0, 1); replaceable so tests are deterministic. */
  random: () => number = Math.random;
  private readonly limits: LimitsConfig;
  /** Candidates judged per project and second (`GATEWAY_SELECT_CANDIDATES_PER_SECOND`): a select's cost. */
  private readonly budget: CostBudget;
  /** Strategy set keys by the index's shared candidate list, then tier (see setKeyOf). */
  private readonly setKeys = new WeakMap<readonly InstanceRecord[], Map<number, string>>();
  /** Available judgements by the pool's shared candidate list (see availableOf). */
  private readonly available = new WeakMap<readonly Candidate[], readonly Judged[]>();
  private stopForgetting?: () => void;

  constructor(
    private readonly index: RegistryIndex,
    private readonly pool: CandidatePool,
    private readonly strategies: StrategyRegistry,
    private readonly leases: LeaseManager,
    @InjectAdmissionControl() private readonly admission: AdmissionControl,
    @InjectAffinityStore() private readonly affinity: AffinityStore,
    @InjectClock() private readonly clock: Clock,
    private readonly minutes: MinuteAggregator,
    private readonly metrics: GatewayMetrics,
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectEventBus() private readonly events: EventBus,
  ) {
    this.limits = config.limits;
    this.budget = new CostBudget(config.limits.selectCandidatesPerSecond);
  }

  onModuleInit(): void {
    this.stopForgetting = forgetDeletedProjects(this.events, (projectId) => this.budget.forget(projectId));
  }

  onModuleDestroy(): void {
    this.stopForgetting?.();
  }

  select(project: ProjectPrincipal, request: SelectInstanceDto): SelectedInstanceDto {
    const strategyName = request.strategy ?? project.settings.defaultStrategy ?? DEFAULT_STRATEGY;
    try {
      return this.decide(project, request, strategyName);
    } catch (error) {
      if (error instanceof GatewayError) {
        const label = error.code === 'UNKNOWN_STRATEGY' ? 'unknown' : strategyName;
        this.metrics.selection({ strategy: label, result: error.code, fallbackUsed: false, degraded: false });
      }
      throw error;
    }
  }

  private decide(project: ProjectPrincipal, request: SelectInstanceDto, strategyName: string): SelectedInstanceDto {
    const now = this.clock.now();
    // Unreported leases past their TTL free their capacity before anyone is judged (cheap when none are due).
    this.leases.expireDue(now);
    this.assertLeaseRoom(project.projectId, now);
    this.assertBudget(project.projectId, now);
    const strategy = this.strategies.require(strategyName);
    // Each identifier is judged once: a chain repeating one (64 times over 5000 instances) would
    // otherwise judge every candidate again per repeat and hold the event loop for everyone.
    const chain = request.fallbackChain;
    const identifiers =
      chain && chain.length > 0 ? new Set([request.apiIdentifier, ...chain]) : [request.apiIdentifier];
    const attempts: Attempt[] = [];
    for (const identifier of identifiers) {
      const attempt = this.attempt({ project, request, identifier, strategy, now });
      attempts.push(attempt);
      if (attempt.kind === 'chosen')
        return this.respond({ project, request, attempt, attempts, strategyName, strategy, now });
    }
    const leastBad = project.settings.whenAllUnavailable === 'least-bad' ? leastBadOf(attempts) : undefined;
    if (leastBad) {
      const explained = attempts.map((one) => (one.identifier === leastBad.identifier ? leastBad : one));
      return this.respond({ project, request, attempt: leastBad, attempts: explained, strategyName, strategy, now });
    }
    throw noSelectableInstance(request, attempts, now);
  }

  private attempt(args: {
    project: ProjectPrincipal;
    request: SelectInstanceDto;
    identifier: string;
    strategy: SelectionStrategyHandler;
    now: number;
  }): Attempt {
    const { project, request, identifier, strategy, now } = args;
    const records = this.index.candidates({
      projectId: project.projectId,
      apiType: request.apiType,
      identifier,
      userId: request.userId ?? undefined,
    });
    if (records.length === 0) return { kind: 'none', identifier };
    this.budget.charge(project.projectId, records.length, now);
    const excluded = excludedSet(request.excludeInstanceIds);
    const admission = {
      estimatedTokens: request.estimatedTokens ?? undefined,
      settings: project.settings,
      selecting: true,
    };
    // A user's list is made per select: what is kept per list (candidates, judgements, set keys)
    // is kept only for the index's shared lists.
    const shared = request.userId == null;
    const candidates = shared
      ? this.pool.candidatesOf(records, now)
      : records.map((record) => this.pool.candidateFor(record, now));
    const available = shared ? this.availableOf(candidates) : undefined;
    const judged: Judged[] = candidates.map((candidate, at) => {
      if (excluded?.has(candidate.instance.id)) return { candidate, unavailable: EXCLUDED };
      const unavailable = this.admission.check(candidate, now, admission);
      return unavailable ? { candidate, unavailable } : (available?.[at] ?? { candidate });
    });
    const { tier, members } = topTier(judged);
    if (members.length === 0) return { kind: 'unavailable', identifier, judged };
    const bestTier = bestTierOf(judged);
    const key = affinityKeyOf(project.projectId, request);
    const bound = key ? this.boundCandidate(key, request, judged, members) : undefined;
    if (bound === null) return { kind: 'unavailable', identifier, judged, affinityRefused: true };
    const context: SelectionContext = {
      projectId: project.projectId,
      apiType: request.apiType,
      identifier,
      setKey: this.setKeyOf(shared ? records : undefined, request.apiType, project.projectId, identifier, tier),
      now,
      random: this.random,
    };
    const chosen = bound ?? this.probeDue(members, now, admission) ?? strategy.pick(members, context);
    return {
      kind: 'chosen',
      identifier,
      judged,
      chosen,
      tier,
      bestTier,
      affinityBound: bound !== undefined,
      leastBad: false,
    };
  }

  /**
   * The strategy's name for a candidate set: `project|apiType|identifier|tier`. Made once per
   * candidate list the index shares (one per identifier until the registry changes it), not per select.
   */
  private setKeyOf(
    shared: readonly InstanceRecord[] | undefined,
    apiType: string,
    projectId: string,
    identifier: string,
    tier: number,
  ): string {
    if (shared === undefined) return setKeyText(projectId, apiType, identifier, tier);
    let byTier = this.setKeys.get(shared);
    if (byTier === undefined) this.setKeys.set(shared, (byTier = new Map<number, string>()));
    let key = byTier.get(tier);
    if (key === undefined) byTier.set(tier, (key = setKeyText(projectId, apiType, identifier, tier)));
    return key;
  }

  /** Each candidate of a shared list judged available, made once per list (judgements are never changed). */
  private availableOf(candidates: readonly Candidate[]): readonly Judged[] {
    let available = this.available.get(candidates);
    if (available === undefined) {
      available = candidates.map((candidate) => Object.freeze({ candidate }));
      this.available.set(candidates, available);
    }
    return available;
  }

  /** A project at its cap of open leases on this node is refused before any work is done for it. O(1). */
  private assertLeaseRoom(projectId: string, now: number): void {
    const limit = this.limits.openLeasesPerProject;
    if (this.leases.openOfProject(projectId) < limit) return;
    throw leaseLimitReached(limit, this.leases.earliestExpiryOfProject(projectId), now);
  }

  /**
   * A project that judged more candidates than its budget allows (wide selects sent fast, e.g.
   * 5000 instances with `explain`) waits until the budget refills: 429 with `Retry-After`. O(1).
   */
  private assertBudget(projectId: string, now: number): void {
    const refusal = this.budgetRefusal(projectId, now);
    if (refusal !== undefined) throw refusal;
  }

  /** Whether any project's budget is spent now: false on the usual hot path, where no key need be looked up. */
  anyBudgetSpent(now = this.clock.now()): boolean {
    return this.budget.anyWaiting(now);
  }

  /** SELECTION_BUDGET_EXHAUSTED while the project's budget of candidates judged is spent, else undefined. */
  budgetRefusal(projectId: string, now = this.clock.now()): GatewayError | undefined {
    const waitMs = this.budget.waitMs(projectId, now);
    return waitMs > 0 ? selectionBudgetExhausted(this.limits.selectCandidatesPerSecond, waitMs) : undefined;
  }

  /** A HALF_OPEN member waiting for a probe call, if any: recovery is probed, not left to chance. */
  private probeDue(members: readonly Candidate[], now: number, admission: AdmissionRequest): Candidate | undefined {
    for (const candidate of members) if (this.admission.wantsProbe(candidate, now, admission)) return candidate;
    return undefined;
  }

  /**
   * The bound instance when it may serve; undefined to let the strategy choose (PREFERRED, or no
   * binding); null when a STRICT binding cannot be honoured.
   */
  private boundCandidate(
    key: string,
    request: SelectInstanceDto,
    judged: readonly Judged[],
    tier: Candidate[],
  ): Candidate | null | undefined {
    const boundId = this.affinity.get(key, this.clock.now());
    if (boundId === undefined) return undefined;
    const strict = request.affinityStrength === 'STRICT';
    if (strict) {
      const match = judged.find((one) => one.candidate.instance.id === boundId);
      return match && !match.unavailable ? match.candidate : null;
    }
    return tier.find((candidate) => candidate.instance.id === boundId);
  }

  private respond(args: {
    project: ProjectPrincipal;
    request: SelectInstanceDto;
    attempt: Extract<Attempt, { kind: 'chosen' }>;
    attempts: readonly Attempt[];
    strategyName: string;
    strategy: SelectionStrategyHandler;
    now: number;
  }): SelectedInstanceDto {
    const { project, request, attempt, attempts, strategyName, strategy, now } = args;
    const { chosen } = attempt;
    const key = affinityKeyOf(project.projectId, request);
    if (key && !attempt.leastBad) this.affinity.set(key, chosen.instance.id, affinityTtlMs(project), now);
    const ttlMs = leaseTtlMs(project, chosen, this.limits.maxLeaseTtlMs);
    const tokens = request.estimatedTokens ?? undefined;
    const probe = this.admission.admit(
      chosen,
      now,
      { estimatedTokens: tokens, settings: project.settings },
      { expiresAt: now + ttlMs, force: attempt.leastBad },
    );
    const lease = this.leases.open({
      projectId: project.projectId,
      instanceId: chosen.instance.id,
      ttlMs,
      tokens,
      probe,
      at: now,
    });
    this.minutes.recordSelection(project.projectId, chosen.instance.id, now, chosen.stats.openLeases);
    const fallbackUsed = attempt.identifier !== request.apiIdentifier;
    const instance = chosen.instance;
    const dates = isoDates(instance);
    // One literal with every field (no spreads): a response object built by spreading lands in
    // V8's slow dictionary mode, which showed as ~8 % of a select in a CPU profile.
    const response: SelectedInstanceDto = {
      id: instance.id,
      projectId: instance.projectId,
      userId: instance.userId,
      apiIdentifier: instance.apiIdentifier,
      apiType: instance.apiType,
      businessId: instance.businessId,
      routingParams: instance.routingParams,
      status: instance.status,
      metadata: instance.metadata,
      endpoint: instance.endpoint,
      createdAt: dates.createdAt,
      updatedAt: dates.updatedAt,
      selectionId: lease.selectionId,
      strategy: strategyName,
      tier: attempt.tier,
      degraded: attempt.leastBad || attempt.tier < attempt.bestTier,
      fallbackUsed,
      fallbackFrom: fallbackUsed ? request.apiIdentifier : null,
      affinityBound: attempt.affinityBound,
    };
    if (request.explain) {
      response.explain = explainSelection(attempts, strategy, {
        now,
        random: this.random,
        maxCandidates: this.limits.explainCandidates,
      });
    }
    this.metrics.selection({
      strategy: strategyName,
      result: attempt.leastBad ? 'least_bad' : 'selected',
      fallbackUsed,
      degraded: response.degraded,
    });
    return response;
  }
}

/**
 * ISO strings of a record's dates, computed once per record (records are replaced, never
 * mutated): `JSON.stringify` of `Date` objects made serialising a select response 4× the cost of
 * the same bytes as strings.
 */
const isoCache = new WeakMap<InstanceRecord, { readonly createdAt: string; readonly updatedAt: string }>();

function isoDates(record: InstanceRecord): { readonly createdAt: string; readonly updatedAt: string } {
  let dates = isoCache.get(record);
  if (!dates) {
    dates = { createdAt: record.createdAt.toISOString(), updatedAt: record.updatedAt.toISOString() };
    isoCache.set(record, dates);
  }
  return dates;
}

/**
 * `whenAllUnavailable: "least-bad"`: when nothing is selectable, the instance most likely to
 * serve — soonest to be probed again, then the higher tier, then the better success rate. Only
 * the breaker and cool-downs are overridden: an operator's FORCED_OPEN, the request's exclusions
 * and the gateway's own quotas for the backend still hold.
 */
function leastBadOf(attempts: readonly Attempt[]): Extract<Attempt, { kind: 'chosen' }> | undefined {
  let best: { attempt: Extract<Attempt, { kind: 'unavailable' }>; judged: Judged } | undefined;
  for (const attempt of attempts) {
    if (attempt.kind !== 'unavailable' || attempt.affinityRefused) continue;
    for (const judged of attempt.judged) {
      const kind = judged.unavailable?.kind;
      if (kind !== 'breaker' && kind !== 'cooldown') continue;
      if (best === undefined || lessBad(judged, best.judged)) best = { attempt, judged };
    }
  }
  if (best === undefined) return undefined;
  const { candidate } = best.judged;
  return {
    kind: 'chosen',
    identifier: best.attempt.identifier,
    judged: best.attempt.judged,
    chosen: candidate,
    tier: candidate.params.priority,
    bestTier: bestTierOf(best.attempt.judged),
    affinityBound: false,
    leastBad: true,
  };
}

function lessBad(a: Judged, b: Judged): boolean {
  const retryA = a.unavailable?.retryAt ?? Number.POSITIVE_INFINITY;
  const retryB = b.unavailable?.retryAt ?? Number.POSITIVE_INFINITY;
  if (retryA !== retryB) return retryA < retryB;
  const tierA = a.candidate.params.priority;
  const tierB = b.candidate.params.priority;
  if (tierA !== tierB) return tierA > tierB;
  return successRate(a) > successRate(b);
}

function successRate(judged: Judged): number {
  const { stats } = judged.candidate;
  return stats.calls > 0 ? stats.successes / stats.calls : 1;
}

/**
 * How long an unreported selection holds capacity: the project's `quotas.leaseTtlMs`, else the
 * instance's `timeoutMs` + 5 s, else 60 s — never more than `maxLeaseTtlMs`, which also clamps
 * values stored before that bound existed.
 */
function leaseTtlMs(project: ProjectPrincipal, chosen: Candidate, maxLeaseTtlMs: number): number {
  const timeoutMs = chosen.params.timeoutMs;
  const wanted =
    project.settings.quotas?.leaseTtlMs ?? (timeoutMs ? timeoutMs + TIMEOUT_GRACE_MS : DEFAULT_LEASE_TTL_MS);
  return Math.min(wanted, maxLeaseTtlMs);
}

function setKeyText(projectId: string, apiType: string, identifier: string, tier: number): string {
  return `${projectId}|${apiType}|${identifier}|${tier}`;
}

function affinityKeyOf(projectId: string, request: SelectInstanceDto): string | undefined {
  if (!request.affinityKey) return undefined;
  return `${projectId}|${request.apiType}|${request.apiIdentifier}|${request.affinityType ?? ''}|${request.affinityKey}`;
}

function affinityTtlMs(project: ProjectPrincipal): number {
  const seconds = project.settings.affinityTtlSeconds;
  return seconds ? seconds * 1000 : DEFAULT_AFFINITY_TTL_MS;
}

/** The instances a retry excludes, as a set: up to 100 ids checked against every candidate. */
function excludedSet(ids: readonly string[] | null | undefined): ReadonlySet<string> | undefined {
  return ids !== null && ids !== undefined && ids.length > 0 ? new Set(ids) : undefined;
}

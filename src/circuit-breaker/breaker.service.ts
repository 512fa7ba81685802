import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { OutcomeClass } from '../common/outcome';
import type { Unavailability } from '../common/unavailability';
import { EventBus, InjectEventBus, forgetDeletedInstances } from '../state/event-bus';
import { type BreakerKey, BreakerStore, InjectBreakerStore } from '../state/breaker-store';
import type { ProjectSettings } from '../tenancy/project-settings';
import { type BreakerConfig, BreakerConfigCache } from './breaker-config';
import {
  advance,
  applyOperator,
  applyOutcome,
  breakerUnavailability,
  effectiveState,
  needsAdvance,
  probeEarly,
  restoreOperator,
  type TransitionSink,
  windowCounts,
} from './breaker-machine';
import { type BreakerStateName, BreakerTransitions } from './breaker-transition';

/** The identity of the instance a breaker guards. */
export interface BreakerSubject {
  readonly id: string;
  readonly projectId: string;
}

/** A breaker as monitoring shows it. */
export interface BreakerSnapshot {
  readonly state: BreakerStateName;
  readonly reason: string;
  /** Epoch ms the state began. */
  readonly since: number | null;
  /** OPEN: when probing starts. */
  readonly nextProbeAt: number | null;
  readonly trips: number;
  readonly consecutiveFailures: number;
  readonly probesInFlight: number;
  readonly probeSuccesses: number;
  readonly window: { readonly calls: number; readonly failures: number; readonly slow: number };
  readonly config: BreakerConfig;
}

/**
 * Circuit breakers of all instances (docs/resilience.md §2): reads for the selection pipeline, probe
 * grants, what reports teach, operator overrides. State lives in the {@link BreakerStore};
 * transitions go to {@link BreakerTransitions}. Memory only, nothing awaits.
 *
 * @example
 * const why = breakers.check(instance, config, now);            // undefined: selectable
 * const probe = breakers.admit(instance, config, { now, expiresAt: lease.expiresAt });
 * breakers.learn(instance, config, { outcome: 'TIMEOUT', latencyMs: 30_000, probe }, now);
 */
@Injectable()
export class BreakerService implements OnModuleInit, OnModuleDestroy {
  /** Uniform in [0, 1) for the open-time jitter; replaceable so tests are exact. */
  random: () => number = Math.random;
  private readonly configs = new BreakerConfigCache();
  /** Emits each transition as the machine makes it (listeners only enqueue or count). */
  private readonly sink: TransitionSink = { transition: (transition) => this.transitions.emit(transition) };
  private readonly stops: (() => void)[] = [];

  constructor(
    @InjectBreakerStore() private readonly store: BreakerStore,
    private readonly transitions: BreakerTransitions,
    @InjectEventBus() private readonly events: EventBus,
  ) {}

  /** A deleted instance's breaker goes with it; transitions other nodes commit reach this node's listeners. */
  onModuleInit(): void {
    this.stops.push(
      forgetDeletedInstances(this.events, (id) => this.store.delete(id)),
      this.store.onRemoteTransition((transition) => this.transitions.emit(transition)),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /** The instance's breaker config: defaults ← project `breaker` settings ← `routingParams.breaker`. */
  configFor(
    instance: { readonly routingParams: Readonly<Record<string, unknown>> },
    settings: ProjectSettings,
  ): BreakerConfig {
    return this.configs.for(settings.breaker, instance.routingParams);
  }

  /** Why the breaker keeps the instance out now, or undefined (no record: never reported, CLOSED). */
  check(subject: BreakerSubject, config: BreakerConfig, now: number): Unavailability | undefined {
    const record = this.current(subject, config, now);
    return record === undefined ? undefined : breakerUnavailability(record, config);
  }

  /**
   * True while the breaker is HALF_OPEN with a free probe slot: the selection sends the next call
   * there rather than leave recovery to the strategy, which would rarely pick an instance whose
   * recent history is all failures — a recovered backend would wait for that history to age out.
   */
  wantsProbe(subject: BreakerSubject, config: BreakerConfig, now: number): boolean {
    const seen = this.store.get(subject.id);
    if (seen === undefined || seen.operator !== null || seen.state === 'CLOSED') return false;
    const record = this.current(subject, config, now)!;
    return record.state === 'HALF_OPEN' && record.probeExpiries.length < config.halfOpenProbes;
  }

  /**
   * Called once the instance is chosen, before its lease opens: while HALF_OPEN the selection
   * takes a probe slot (one atomic store operation). `force` (least-bad) takes one even when the
   * breaker is OPEN or every slot is busy. Returns whether the lease is a probe.
   */
  admit(
    subject: BreakerSubject,
    config: BreakerConfig,
    lease: { readonly now: number; readonly expiresAt: number; readonly force?: boolean },
  ): boolean {
    const { now, expiresAt } = lease;
    const record = this.current(subject, config, now);
    if (record === undefined || record.operator !== null || record.state === 'CLOSED') return false;
    if (this.store.tryAcquireProbe(subject.id, config.halfOpenProbes, expiresAt)) return true;
    if (lease.force !== true) return false;
    this.store.update(keyOf(subject), now, this.sink, (draft, sink) => probeEarly(draft, { now, sink }));
    this.store.forceProbe(subject.id, expiresAt);
    return true;
  }

  /** A report: `probeExpiresAt` is the expiry of the probe lease it closed, if it closed one. */
  learn(
    subject: BreakerSubject,
    config: BreakerConfig,
    report: {
      readonly outcome: OutcomeClass;
      readonly latencyMs: number;
      readonly probeExpiresAt?: number;
      readonly unreachable?: boolean;
    },
    now: number,
  ): void {
    const probe = report.probeExpiresAt !== undefined && this.store.releaseProbe(subject.id, report.probeExpiresAt);
    const { random } = this;
    const outcome = { outcome: report.outcome, latencyMs: report.latencyMs, probe, unreachable: report.unreachable };
    this.store.update(keyOf(subject), now, this.sink, (record, sink) =>
      applyOutcome(record, { config, now, sink, random, report: outcome }),
    );
  }

  /** A probe lease expired unreported: its slot is free again (a silent caller must not wedge the breaker). */
  releaseProbe(instanceId: string, expiresAt: number): void {
    this.store.releaseProbe(instanceId, expiresAt);
  }

  /**
   * An operator's override. `actor` names who set it (`operatorActor(admin)`: `admin:<username>`);
   * it is logged and stored with the transition.
   */
  setOperatorState(
    subject: BreakerSubject,
    state: 'FORCED_OPEN' | 'DISABLED' | 'AUTO',
    now: number,
    actor?: string,
  ): void {
    this.store.update(keyOf(subject), now, this.sink, (record, sink) =>
      applyOperator(record, { state, now, sink, actor }),
    );
  }

  /** An override restored from the log at start-up: set without a new transition. */
  restoreOperatorState(subject: BreakerSubject, state: 'FORCED_OPEN' | 'DISABLED', at: number): void {
    this.store.update(keyOf(subject), at, this.sink, (record) => restoreOperator(record, state, at));
  }

  snapshot(subject: BreakerSubject, config: BreakerConfig, now: number): BreakerSnapshot {
    if (this.store.get(subject.id) === undefined) {
      return {
        state: 'CLOSED',
        reason: 'no trip yet',
        since: null,
        nextProbeAt: null,
        trips: 0,
        consecutiveFailures: 0,
        probesInFlight: 0,
        probeSuccesses: 0,
        window: { calls: 0, failures: 0, slow: 0 },
        config,
      };
    }
    return this.store.update(keyOf(subject), now, this.sink, (record, sink) => {
      advance(record, { config, now, sink });
      return {
        state: effectiveState(record),
        reason: record.reason,
        since: record.since,
        nextProbeAt: record.operator === null && record.state === 'OPEN' ? record.openUntil : null,
        trips: record.trips,
        consecutiveFailures: record.consecutive,
        probesInFlight: record.probeExpiries.length,
        probeSuccesses: record.probeSuccesses,
        window: windowCounts(record, now),
        config,
      };
    });
  }

  /** The effective state, for cheap reads (monitoring lists, minute rows). */
  stateOf(instanceId: string): BreakerStateName {
    const record = this.store.get(instanceId);
    return record === undefined ? 'CLOSED' : effectiveState(record);
  }

  /** The effective state of every instance that has a breaker record (the others are CLOSED). */
  *states(): Generator<BreakerStateOf> {
    for (const record of this.store.values()) {
      yield { projectId: record.projectId, instanceId: record.instanceId, state: effectiveState(record) };
    }
  }

  /** The record as of `now`: time-driven changes (OPEN → HALF_OPEN, trip decay) applied first. */
  private current(subject: BreakerSubject, config: BreakerConfig, now: number) {
    const record = this.store.get(subject.id);
    if (record === undefined || !needsAdvance(record, now)) return record;
    this.store.update(keyOf(subject), now, this.sink, (draft, sink) => advance(draft, { config, now, sink }));
    return this.store.get(subject.id);
  }
}

/** One instance's effective breaker state. */
export interface BreakerStateOf {
  readonly projectId: string;
  readonly instanceId: string;
  readonly state: BreakerStateName;
}

function keyOf(subject: BreakerSubject): BreakerKey {
  return { projectId: subject.projectId, instanceId: subject.id };
}

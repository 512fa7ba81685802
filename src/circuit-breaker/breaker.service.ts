import { Injectable } from '@nestjs/common';
import type { Unavailability } from '../common/unavailability';
import type { OutcomeClass } from '../common/outcome';
import { type BreakerRecord, BreakerStore, InjectBreakerStore } from '../state/breaker-store';
import type { BreakerConfig } from './breaker-config';
import {
  advance,
  applyOperator,
  applyOutcome,
  breakerUnavailability,
  effectiveState,
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
 * Circuit breakers of all instances (RESILIENCE.md §2): reads for the selection pipeline, probe
 * grants, what reports teach, operator overrides. State lives in the {@link BreakerStore};
 * transitions go to {@link BreakerTransitions}. Memory only, nothing awaits.
 *
 * @example
 * const why = breakers.check(instance, config, now);            // undefined: selectable
 * const probe = breakers.admit(instance, config, now, lease.expiresAt);
 * breakers.learn(instance, config, { outcome: 'TIMEOUT', latencyMs: 30_000, probe }, now);
 */
@Injectable()
export class BreakerService implements TransitionSink {
  /** Uniform in [0, 1) for the open-time jitter; replaceable so tests are exact. */
  random: () => number = Math.random;

  constructor(
    @InjectBreakerStore() private readonly store: BreakerStore,
    private readonly transitions: BreakerTransitions,
  ) {}

  /** Why the breaker keeps the instance out now, or undefined (no record: never reported, CLOSED). */
  check(subject: BreakerSubject, config: BreakerConfig, now: number): Unavailability | undefined {
    const record = this.store.get(subject.id);
    if (record === undefined) return undefined;
    advance(record, config, now, this);
    return breakerUnavailability(record, config);
  }

  /**
   * True while the breaker is HALF_OPEN with a free probe slot: the selection sends the next call
   * there rather than leave recovery to the strategy, which would rarely pick an instance whose
   * recent history is all failures — a recovered backend would wait for that history to age out.
   */
  wantsProbe(subject: BreakerSubject, config: BreakerConfig, now: number): boolean {
    const record = this.store.get(subject.id);
    if (record === undefined || record.operator !== null || record.state === 'CLOSED') return false;
    advance(record, config, now, this);
    return record.state === 'HALF_OPEN' && record.probeExpiries.length < config.halfOpenProbes;
  }

  /**
   * Called once the instance is chosen, before its lease opens: while HALF_OPEN the selection
   * takes a probe slot (one atomic store operation). `force` (least-bad) takes one even when the
   * breaker is OPEN or every slot is busy. Returns whether the lease is a probe.
   */
  admit(subject: BreakerSubject, config: BreakerConfig, now: number, expiresAt: number, force = false): boolean {
    const record = this.store.get(subject.id);
    if (record === undefined || record.operator !== null) return false;
    advance(record, config, now, this);
    if (record.state === 'CLOSED') return false;
    if (this.store.tryAcquireProbe(subject.id, config.halfOpenProbes, expiresAt)) return true;
    if (!force) return false;
    if (record.state === 'OPEN') {
      record.probeExpiries.length = 0;
      record.probeSuccesses = 0;
      record.openUntil = now;
      record.state = 'HALF_OPEN';
      record.reason = 'probing early: least-bad selection while OPEN';
      record.since = now;
      this.transition(record, 'OPEN', 'HALF_OPEN', record.reason, now);
    }
    this.store.forceProbe(subject.id, expiresAt);
    return true;
  }

  /** A report: `probeExpiresAt` is the expiry of the probe lease it closed, if it closed one. */
  learn(
    subject: BreakerSubject,
    config: BreakerConfig,
    report: { readonly outcome: OutcomeClass; readonly latencyMs: number; readonly probeExpiresAt?: number },
    now: number,
  ): void {
    const record = this.store.ensure(subject.projectId, subject.id, now);
    const probe = report.probeExpiresAt !== undefined && this.store.releaseProbe(subject.id, report.probeExpiresAt);
    applyOutcome(
      record,
      config,
      { outcome: report.outcome, latencyMs: report.latencyMs, probe },
      now,
      this,
      this.random,
    );
  }

  /** A probe lease expired unreported: its slot is free again (a silent caller must not wedge the breaker). */
  releaseProbe(instanceId: string, expiresAt: number): void {
    this.store.releaseProbe(instanceId, expiresAt);
  }

  setOperatorState(subject: BreakerSubject, state: 'FORCED_OPEN' | 'DISABLED' | 'AUTO', now: number): void {
    applyOperator(this.store.ensure(subject.projectId, subject.id, now), state, now, this);
  }

  /** An override restored from the log at start-up: set without a new transition. */
  restoreOperatorState(subject: BreakerSubject, state: 'FORCED_OPEN' | 'DISABLED', at: number): void {
    restoreOperator(this.store.ensure(subject.projectId, subject.id, at), state, at);
  }

  snapshot(subject: BreakerSubject, config: BreakerConfig, now: number): BreakerSnapshot {
    const record = this.store.get(subject.id);
    if (record === undefined) {
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
    advance(record, config, now, this);
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
  }

  /** The effective state, for cheap reads (monitoring lists). */
  stateOf(instanceId: string): BreakerStateName {
    const record = this.store.get(instanceId);
    return record === undefined ? 'CLOSED' : effectiveState(record);
  }

  forget(instanceId: string): void {
    this.store.delete(instanceId);
  }

  /** @internal {@link TransitionSink}: fans a machine's transition out to the listeners. */
  transition(record: BreakerRecord, from: BreakerStateName, to: BreakerStateName, reason: string, at: number): void {
    this.transitions.emit({ projectId: record.projectId, instanceId: record.instanceId, from, to, reason, at });
  }
}

import { Inject, Injectable } from '@nestjs/common';

export type AutomaticBreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
export type OperatorBreakerState = 'FORCED_OPEN' | 'DISABLED';

/** Breaker states (docs/resilience.md §2): automatic ones plus the two an operator sets. */
export const BREAKER_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'DISABLED'] as const;
export type BreakerStateName = (typeof BREAKER_STATES)[number];

/** One change of an instance's breaker state, with the reason a person can read. */
export interface BreakerTransition {
  readonly projectId: string;
  readonly instanceId: string;
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  /** "5 consecutive SERVER_ERROR", "failure rate 62 % of 13 calls in 60 s", "operator: FORCED_OPEN". */
  readonly reason: string;
  /** Epoch ms (injected clock) when the transition took effect. */
  readonly at: number;
  /**
   * Who made an operator's transition (`admin:<username>`); absent on the machine's own, which
   * were made by the system.
   */
  readonly actor?: string;
  /** Cluster mode: decided and recorded by another node; this node only follows it. */
  readonly remote?: boolean;
}

/** Receives every state change the machine makes. */
export interface TransitionSink {
  transition(transition: BreakerTransition): void;
}

/**
 * A time-based sliding window of the breaker: 60 buckets spanning the configured window, with
 * running totals (subtract-on-evict). Plain data, so a store can copy or serialise it.
 */
export interface BreakerWindowData {
  widthMs: number;
  /** Bucket number (⌊at / widthMs⌋) of the newest bucket. */
  head: number;
  calls: number;
  failures: number;
  slow: number;
  /** 60 × [calls, failures, slow]. */
  readonly buckets: Float64Array;
}

/**
 * The breaker state of one instance as plain data (docs/resilience.md §2). The state machine in the
 * circuit-breaker module changes it inside {@link BreakerStore.update}; nothing else may.
 */
export interface BreakerRecord {
  readonly projectId: string;
  readonly instanceId: string;
  state: AutomaticBreakerState;
  /** Set by an operator; overrides `state` until set back to AUTO. */
  operator: OperatorBreakerState | null;
  /** Why the breaker is in its state, for people. */
  reason: string;
  /** When the current state began. */
  since: number;
  /** OPEN: when it turns HALF_OPEN. */
  openUntil: number;
  /** Consecutive trips (the open-time multiplier); falls by one per healthy minute. */
  trips: number;
  /** Healthy minutes are counted from here (CLOSED only). */
  decayFrom: number;
  /** Consecutive failures while CLOSED, and which classes they were (bit per class). */
  consecutive: number;
  streakClasses: number;
  /**
   * Of those, how many at the end of the streak never reached the backend (refused, unknown host).
   * Absent from records written before it existed: read as 0.
   */
  unreachable?: number;
  /** Expiry of each probe lease in flight (HALF_OPEN). */
  probeExpiries: number[];
  probeSuccesses: number;
  window: BreakerWindowData | null;
}

/** A breaker record as readers get it: a snapshot they cannot change. */
export type BreakerRecordView = {
  readonly [K in keyof BreakerRecord]: K extends 'probeExpiries'
    ? readonly number[]
    : K extends 'window'
      ? Readonly<Omit<BreakerWindowData, 'buckets'>> | null
      : BreakerRecord[K];
};

/** Which breaker a change is for. */
export interface BreakerKey {
  readonly projectId: string;
  readonly instanceId: string;
}

/**
 * Where breaker records live. It hands out read-only views and takes changes as operations:
 * `update` runs a change against the record as one step (memory: in place, transitions passed to
 * `sink` at once; the cluster store runs it here at once for this node's view and again against
 * the shared record until that commits, passing on only the committed run's transitions), and
 * the probe operations are atomic, so a probe slot is never handed out twice. Only the
 * circuit-breaker module talks to it (lint enforces this).
 */
export interface BreakerStore {
  /** The record, or undefined when the instance was never reported (its breaker is CLOSED). */
  get(instanceId: string): BreakerRecordView | undefined;
  /**
   * Runs `change` on the record (created CLOSED at `now` when absent) and returns its result. The
   * change reports transitions to the sink it is given, never to one it captured: a shared store
   * may run it more than once and passes on only what was committed.
   */
  update<T>(
    key: BreakerKey,
    now: number,
    sink: TransitionSink,
    change: (record: BreakerRecord, sink: TransitionSink) => T,
  ): T;
  /** Transitions another node committed (cluster mode; never called on a single node). */
  onRemoteTransition(listener: (transition: BreakerTransition) => void): () => void;
  /** Atomically takes a probe slot if the breaker is HALF_OPEN with fewer than `limit` in flight. */
  tryAcquireProbe(instanceId: string, limit: number, expiresAt: number): boolean;
  /** Takes a probe slot even beyond the limit (an operator's or `least-bad` decision). */
  forceProbe(instanceId: string, expiresAt: number): void;
  /** Frees the slot of the probe lease that expires at `expiresAt`; false if no such probe is in flight. */
  releaseProbe(instanceId: string, expiresAt: number): boolean;
  delete(instanceId: string): void;
  /** Every record, read-only (gauges and monitoring). */
  values(): IterableIterator<BreakerRecordView>;
}

/** Injection token of {@link BreakerStore}. */
export const BreakerStore = Symbol('BreakerStore');

export const InjectBreakerStore = (): ParameterDecorator => Inject(BreakerStore);

/** One node's breaker records, in memory. Instances never reported have no record (CLOSED). */
@Injectable()
export class MemoryBreakerStore implements BreakerStore {
  private readonly records = new Map<string, BreakerRecord>();

  get(instanceId: string): BreakerRecordView | undefined {
    return this.records.get(instanceId);
  }

  update<T>(
    key: BreakerKey,
    now: number,
    sink: TransitionSink,
    change: (record: BreakerRecord, sink: TransitionSink) => T,
  ): T {
    let record = this.records.get(key.instanceId);
    if (record === undefined) {
      record = newBreakerRecord(key, now);
      this.records.set(key.instanceId, record);
    }
    return change(record, sink);
  }

  onRemoteTransition(): () => void {
    return () => undefined;
  }

  tryAcquireProbe(instanceId: string, limit: number, expiresAt: number): boolean {
    const record = this.records.get(instanceId);
    if (record === undefined || record.state !== 'HALF_OPEN' || record.probeExpiries.length >= limit) return false;
    record.probeExpiries.push(expiresAt);
    return true;
  }

  forceProbe(instanceId: string, expiresAt: number): void {
    this.records.get(instanceId)?.probeExpiries.push(expiresAt);
  }

  releaseProbe(instanceId: string, expiresAt: number): boolean {
    const probes = this.records.get(instanceId)?.probeExpiries;
    const at = probes ? probes.indexOf(expiresAt) : -1;
    if (at < 0) return false;
    probes!.splice(at, 1);
    return true;
  }

  delete(instanceId: string): void {
    this.records.delete(instanceId);
  }

  values(): IterableIterator<BreakerRecordView> {
    return this.records.values();
  }
}

/** A breaker never tripped: CLOSED since `now`. */
export function newBreakerRecord(key: BreakerKey, now: number): BreakerRecord {
  return {
    projectId: key.projectId,
    instanceId: key.instanceId,
    state: 'CLOSED',
    operator: null,
    reason: 'no trip yet',
    since: now,
    openUntil: 0,
    trips: 0,
    decayFrom: now,
    consecutive: 0,
    streakClasses: 0,
    unreachable: 0,
    probeExpiries: [],
    probeSuccesses: 0,
    window: null,
  };
}

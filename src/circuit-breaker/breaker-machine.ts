import type { Unavailability } from '../common/unavailability';
import { FAILURE_CLASSES, OUTCOME_CLASSES, type OutcomeClass } from '../common/outcome';
import type {
  BreakerRecord,
  BreakerRecordView,
  BreakerStateName,
  BreakerWindowData,
  TransitionSink,
} from '../state/breaker-store';
import type { BreakerConfig } from './breaker-config';

export type { TransitionSink } from '../state/breaker-store';

const BUCKETS = 60;
const HEALTHY_MINUTE_MS = 60_000;
/** Open times vary by ±10 % so instances tripped together are not probed together. */
const JITTER = 0.1;

/** The state a caller sees: the operator's, else the automatic one. */
export function effectiveState(record: BreakerRecordView): BreakerStateName {
  return record.operator ?? record.state;
}

/** What every change needs: the instance's config, the time, and where transitions go. */
export interface MachineStep {
  readonly config: BreakerConfig;
  readonly now: number;
  readonly sink: TransitionSink;
}

/** True when {@link advance} would change the record at `now`: reads stay read-only otherwise. */
export function needsAdvance(record: BreakerRecordView, now: number): boolean {
  if (record.operator !== null) return false;
  if (record.state === 'OPEN') return now >= record.openUntil;
  if (record.state === 'HALF_OPEN') return record.probeExpiries.some((expiresAt) => expiresAt <= now);
  return record.state === 'CLOSED' && record.trips > 0 && now - record.decayFrom >= HEALTHY_MINUTE_MS;
}

/**
 * Time-driven changes: OPEN becomes HALF_OPEN once its open time is over (the transition is dated
 * at that moment, not when it is noticed); a HALF_OPEN probe slot whose lease has expired is free
 * again (whoever held it — another node that died, a report that never came — cannot wedge the
 * breaker); and each healthy minute while CLOSED lowers the trip multiplier by one.
 */
export function advance(record: BreakerRecord, step: MachineStep): void {
  const { config, now, sink } = step;
  if (record.operator !== null) return;
  if (record.state === 'OPEN') {
    if (now < record.openUntil) return;
    const at = record.openUntil;
    record.probeExpiries.length = 0;
    record.probeSuccesses = 0;
    move(record, {
      to: 'HALF_OPEN',
      at,
      reason: `open time over; admitting ${config.halfOpenProbes} probe calls`,
      sink,
    });
  } else if (record.state === 'HALF_OPEN') {
    const live = record.probeExpiries.filter((expiresAt) => expiresAt > now);
    if (live.length < record.probeExpiries.length) record.probeExpiries.splice(0, Infinity, ...live);
  } else if (record.state === 'CLOSED' && record.trips > 0) {
    const minutes = Math.floor((now - record.decayFrom) / HEALTHY_MINUTE_MS);
    if (minutes > 0) {
      record.trips = Math.max(0, record.trips - minutes);
      record.decayFrom += minutes * HEALTHY_MINUTE_MS;
    }
  }
}

/** Why the breaker keeps the instance out now, or undefined. Call {@link advance} first. */
export function breakerUnavailability(record: BreakerRecordView, config: BreakerConfig): Unavailability | undefined {
  if (record.operator === 'FORCED_OPEN') return { kind: 'operator', reason: 'breaker FORCED_OPEN by an operator' };
  if (record.operator === 'DISABLED') return undefined;
  switch (record.state) {
    case 'CLOSED':
      return undefined;
    case 'OPEN':
      return { kind: 'breaker', reason: `breaker OPEN: ${record.reason}`, retryAt: record.openUntil };
    case 'HALF_OPEN': {
      const inFlight = record.probeExpiries.length;
      if (inFlight < config.halfOpenProbes) return undefined;
      return {
        kind: 'breaker',
        reason: `breaker HALF_OPEN: ${inFlight} probe calls in flight`,
        retryAt: Math.min(...record.probeExpiries),
      };
    }
  }
}

/** What one report (already classified) means for the breaker. */
export interface BreakerOutcome {
  readonly outcome: OutcomeClass;
  readonly latencyMs: number;
  /** The report closed a lease that was a probe of the current HALF_OPEN period. */
  readonly probe: boolean;
  /** The call never reached the backend: the connection was refused, the host unknown or unreachable. */
  readonly unreachable?: boolean;
}

/**
 * Applies one report. Ignored: everything while an operator state is set (metrics still record
 * it elsewhere), RATE_LIMITED and CLIENT_ERROR (capacity and the caller's fault, §1), late reports
 * while OPEN, and reports of non-probe calls while HALF_OPEN (made before the trip).
 */
export function applyOutcome(
  record: BreakerRecord,
  step: MachineStep & { readonly report: BreakerOutcome; readonly random: () => number },
): void {
  const { config, now, sink, report } = step;
  if (record.operator !== null) return;
  advance(record, step);
  const { outcome } = report;
  if (outcome === 'AUTH_ERROR') {
    openFor(record, step, { openMs: config.authOpenMs, reason: 'AUTH_ERROR: the backend rejected the credentials' });
    return;
  }
  const failed = FAILURE_CLASSES.has(outcome);
  if (!failed && outcome !== 'SUCCESS') return;
  const slow = config.slowCallMs !== undefined && report.latencyMs >= config.slowCallMs;
  switch (record.state) {
    case 'CLOSED': {
      addToWindow(record, config, now, failed, slow);
      if (failed) {
        record.consecutive++;
        record.streakClasses |= 1 << OUTCOME_CLASSES.indexOf(outcome);
        record.unreachable = report.unreachable === true ? (record.unreachable ?? 0) + 1 : 0;
      } else {
        record.consecutive = 0;
        record.streakClasses = 0;
        record.unreachable = 0;
      }
      const reason = tripReason(record, config);
      if (reason !== undefined) trip(record, step, reason);
      return;
    }
    case 'HALF_OPEN': {
      if (!report.probe) return;
      if (failed) return trip(record, step, `probe call failed with ${outcome}`);
      if (slow) return trip(record, step, `probe call slow: ${report.latencyMs} ms ≥ ${config.slowCallMs} ms`);
      record.probeSuccesses++;
      if (record.probeSuccesses >= config.halfOpenProbes) {
        record.probeExpiries.length = 0;
        record.probeSuccesses = 0;
        record.decayFrom = now;
        resetCounts(record);
        move(record, { to: 'CLOSED', at: now, reason: `${config.halfOpenProbes} probe calls succeeded`, sink });
      }
      return;
    }
    // Stryker disable next-line ConditionalExpression: the last case; without its body the switch falls off the end of the function, which also ignores the report
    case 'OPEN':
      return;
  }
}

/**
 * An operator's override: FORCED_OPEN keeps the instance out, DISABLED keeps it in (never trips),
 * AUTO hands control back to a fresh CLOSED breaker. Always logged, even when nothing changes.
 */
export function applyOperator(
  record: BreakerRecord,
  change: {
    readonly state: 'FORCED_OPEN' | 'DISABLED' | 'AUTO';
    readonly now: number;
    readonly sink: TransitionSink;
    /** Who did it (`admin:<username>`), recorded with the transition. */
    readonly actor?: string;
  },
): void {
  const { state, now, sink, actor } = change;
  const from = effectiveState(record);
  if (state === 'AUTO') {
    record.operator = null;
    record.state = 'CLOSED';
    record.trips = 0;
    record.decayFrom = now;
    record.probeExpiries.length = 0;
    record.probeSuccesses = 0;
    resetCounts(record);
  } else {
    record.operator = state;
  }
  record.reason = `operator: ${state}`;
  record.since = now;
  sink.transition({
    ...keyOf(record),
    from,
    to: effectiveState(record),
    reason: record.reason,
    at: now,
    ...(actor === undefined ? {} : { actor }),
  });
}

/** Puts back an override read from the log at start-up, without logging it again. */
export function restoreOperator(record: BreakerRecord, state: 'FORCED_OPEN' | 'DISABLED', at: number): void {
  record.operator = state;
  record.reason = `operator: ${state}`;
  record.since = at;
}

function tripReason(record: BreakerRecord, config: BreakerConfig): string | undefined {
  if (record.consecutive >= config.consecutiveFailures) {
    return `${record.consecutive} consecutive ${streakName(record.streakClasses)}`;
  }
  // A refused connection proves the backend is not there; an error answer only that it erred.
  const unreachable = record.unreachable ?? 0;
  if (unreachable >= config.consecutiveUnreachable) {
    return `${unreachable} consecutive calls could not reach the backend (connection refused or host unreachable)`;
  }
  const window = record.window;
  if (window === null || window.calls < config.minimumCalls) return undefined;
  const seconds = Math.round(config.windowMs / 1000);
  if (window.failures * 100 >= config.failureRatePercent * window.calls) {
    return `failure rate ${Math.round((window.failures * 100) / window.calls)} % of ${window.calls} calls in ${seconds} s`;
  }
  if (config.slowCallMs !== undefined && window.slow * 100 >= config.slowCallRatePercent * window.calls) {
    return `slow calls ${Math.round((window.slow * 100) / window.calls)} % (≥ ${config.slowCallMs} ms) of ${window.calls} calls in ${seconds} s`;
  }
  return undefined;
}

/** "SERVER_ERROR" when the streak is one class, else "failures (SERVER_ERROR, TIMEOUT)". */
function streakName(bits: number): string {
  const names = OUTCOME_CLASSES.filter((_, index) => (bits & (1 << index)) !== 0);
  return names.length === 1 ? names[0] : `failures (${names.join(', ')})`;
}

function trip(record: BreakerRecord, step: MachineStep & { readonly random: () => number }, reason: string): void {
  const { config, random } = step;
  record.trips++;
  const base = Math.min(config.maxOpenMs, config.openMs * record.trips);
  const jittered = Math.round(base * (1 + JITTER * (2 * random() - 1)));
  openFor(record, step, { openMs: Math.min(config.maxOpenMs, jittered), reason });
}

function openFor(
  record: BreakerRecord,
  step: MachineStep,
  open: { readonly openMs: number; readonly reason: string },
): void {
  const { now, sink } = step;
  record.openUntil = now + open.openMs;
  record.probeExpiries.length = 0;
  record.probeSuccesses = 0;
  resetCounts(record);
  if (record.state === 'OPEN') {
    record.reason = open.reason; // still open, for a new reason and a new deadline
    return;
  }
  move(record, { to: 'OPEN', at: now, reason: open.reason, sink });
}

/**
 * `least-bad` chose an OPEN instance: it turns HALF_OPEN now, so the forced call is a probe of a
 * fresh half-open period.
 */
export function probeEarly(record: BreakerRecord, step: { readonly now: number; readonly sink: TransitionSink }): void {
  if (record.operator !== null || record.state !== 'OPEN') return;
  const { now, sink } = step;
  record.probeExpiries.length = 0;
  record.probeSuccesses = 0;
  record.openUntil = now;
  move(record, { to: 'HALF_OPEN', at: now, reason: 'probing early: least-bad selection while OPEN', sink });
}

function move(
  record: BreakerRecord,
  change: {
    readonly to: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
    readonly at: number;
    readonly reason: string;
    readonly sink: TransitionSink;
  },
): void {
  const { to, at, reason, sink } = change;
  const from = record.state;
  record.state = to;
  record.reason = reason;
  record.since = at;
  sink.transition({ ...keyOf(record), from, to, reason, at });
}

function keyOf(record: BreakerRecord): { readonly projectId: string; readonly instanceId: string } {
  return { projectId: record.projectId, instanceId: record.instanceId };
}

function resetCounts(record: BreakerRecord): void {
  record.consecutive = 0;
  record.streakClasses = 0;
  record.unreachable = 0;
  record.window = null;
}

function addToWindow(record: BreakerRecord, config: BreakerConfig, now: number, failed: boolean, slow: boolean): void {
  const widthMs = config.windowMs / BUCKETS;
  let window = record.window;
  if (window === null || window.widthMs !== widthMs) {
    window = record.window = newWindow(widthMs);
  }
  const bucket = Math.floor(now / widthMs);
  advanceWindow(window, bucket);
  if (bucket < window.head - BUCKETS + 1) return; // older than the window (clock skew): not counted
  const base = (bucket % BUCKETS) * 3;
  window.buckets[base]++;
  window.calls++;
  if (failed) {
    window.buckets[base + 1]++;
    window.failures++;
  }
  if (slow) {
    window.buckets[base + 2]++;
    window.slow++;
  }
}

function newWindow(widthMs: number): BreakerWindowData {
  return {
    widthMs,
    head: Number.NEGATIVE_INFINITY,
    calls: 0,
    failures: 0,
    slow: 0,
    buckets: new Float64Array(BUCKETS * 3),
  };
}

/** Evicts buckets that fell out of the window ending at `bucket` (subtract-on-evict). */
function advanceWindow(window: BreakerWindowData, bucket: number): void {
  // Stryker disable next-line EqualityOperator: for bucket === head the general path evicts no bucket and leaves head as it is
  if (bucket <= window.head) return;
  // Stryker disable next-line EqualityOperator: at exactly 60 buckets the eviction loop clears every bucket and subtracts every count, as fill(0) does
  if (bucket - window.head >= BUCKETS) {
    window.buckets.fill(0);
    window.calls = window.failures = window.slow = 0;
  } else {
    for (let b = window.head + 1; b <= bucket; b++) {
      const base = (b % BUCKETS) * 3;
      window.calls -= window.buckets[base];
      window.failures -= window.buckets[base + 1];
      window.slow -= window.buckets[base + 2];
      window.buckets[base] = window.buckets[base + 1] = window.buckets[base + 2] = 0;
    }
  }
  window.head = bucket;
}

/** Window totals as of `now`, for the health view. */
export function windowCounts(
  record: BreakerRecord,
  now: number,
): { readonly calls: number; readonly failures: number; readonly slow: number } {
  const window = record.window;
  if (window === null) return { calls: 0, failures: 0, slow: 0 };
  advanceWindow(window, Math.floor(now / window.widthMs));
  return { calls: window.calls, failures: window.failures, slow: window.slow };
}

import { BinaryHeap } from '../../common/binary-heap';
import { mulberry32 } from '../../../test/utils/mulberry32';
import { type DecisionLoop, instanceRecord, projectPrincipal } from './decision-loop.testing';

/**
 * Plays traffic through the real decision loop (select → the simulated backend call → report) on
 * its fake clock: `conversations` callers, each making one call at a time with a think time between
 * calls. One conversation is one AgentX user chatting; twelve overlap. Events run in time order,
 * so a report lands exactly when its call ends, and selections see the leases still open.
 */

/** One simulated backend: instance `n` of `gpt-4o` (businessId `b<n>`). */
export interface SimulatedBackend {
  readonly n: number;
  readonly weight?: number;
  /** Duration of a call starting at `atMs` (ms since the run's start); `random` is uniform in [0, 1). */
  readonly latencyMs: (atMs: number, random: () => number) => number;
  /** Whether the call starting at `atMs` fails (a connection refused, reported as a 503). */
  readonly fails?: (atMs: number, random: () => number) => boolean;
}

export interface TrafficOptions {
  readonly backends: readonly SimulatedBackend[];
  readonly conversations: number;
  readonly durationMs: number;
  /** Pause between a call's end and the conversation's next call; default 0–200 ms, uniform. */
  readonly thinkMs?: (random: () => number) => number;
  readonly seed?: number;
  readonly strategy?: string;
  /** Share of calls never reported (their leases stay open until they expire). */
  readonly silentShare?: number;
}

export interface CallTrace {
  readonly atMs: number;
  readonly n: number;
  readonly ok: boolean;
}

export interface TrafficResult {
  readonly calls: readonly CallTrace[];
  /** Each backend's share (%) of the calls started in each full window of `windowMs`. */
  sharesPerWindow(windowMs: number): Map<number, number[]>;
}

/** The lognormal-ish jitter of a real backend around `medianMs` (±~50 %). */
export function jittered(medianMs: number): SimulatedBackend['latencyMs'] {
  return (_at, random) => medianMs * Math.exp((random() + random() + random() - 1.5) * 0.8);
}

export function registerBackends(loop: DecisionLoop, backends: readonly SimulatedBackend[]): void {
  loop.register(
    ...backends.map((b) => instanceRecord(b.n, { routingParams: b.weight === undefined ? {} : { weight: b.weight } })),
  );
}

interface Due {
  readonly atMs: number;
  /** Order of scheduling: ties in time run first scheduled first. */
  readonly seq: number;
  readonly run: () => void;
}

/** Runs the traffic on `loop` (whose instances are `registerBackends`' ones) from its clock's now. */
export function simulateTraffic(loop: DecisionLoop, options: TrafficOptions): TrafficResult {
  const random = mulberry32(options.seed ?? 1);
  const think = options.thinkMs ?? ((r: () => number) => r() * 200);
  const byN = new Map(options.backends.map((b) => [b.n, b]));
  const byId = new Map(options.backends.map((b) => [instanceRecord(b.n).id, b]));
  const principal = projectPrincipal();
  const start = loop.clock.now();
  const calls: CallTrace[] = [];
  const agenda = new BinaryHeap<Due>((a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq));
  let seq = 0;
  const schedule = (atMs: number, run: () => void): void => agenda.push({ atMs, seq: seq++, run });

  const callAt = (atMs: number): void => {
    if (atMs >= options.durationMs) return;
    schedule(atMs, () => {
      const selected = loop.select({ strategy: options.strategy ?? 'smart' });
      const backend = byId.get(selected.id);
      if (backend === undefined) throw new Error(`selected an unknown instance ${selected.id}`);
      const latencyMs = Math.max(1, backend.latencyMs(atMs, random));
      const ok = !(backend.fails?.(atMs, random) ?? false);
      const silent = random() < (options.silentShare ?? 0);
      calls.push({ atMs, n: backend.n, ok });
      schedule(atMs + latencyMs, () => {
        if (!silent) {
          loop.reports.report(
            principal,
            loop.reportOf(backend.n, {
              selectionId: selected.selectionId,
              success: ok,
              ...(ok ? {} : { statusCode: 503, errorMessage: 'connect ECONNREFUSED 10.0.0.1:443' }),
              latencyMs: ok ? Math.round(latencyMs) : 1,
              callTimestamp: start + atMs,
            }),
          );
        }
        callAt(atMs + latencyMs + think(random));
      });
    });
  };

  for (let c = 0; c < options.conversations; c++) callAt(random() * 100);
  for (let due = agenda.pop(); due !== undefined; due = agenda.pop()) {
    loop.clock.set(start + due.atMs);
    due.run();
  }

  return {
    calls,
    sharesPerWindow(windowMs) {
      const windows = Math.floor(options.durationMs / windowMs);
      const shares = new Map<number, number[]>([...byN.keys()].map((n) => [n, []]));
      for (let w = 0; w < windows; w++) {
        const inside = calls.filter((c) => c.atMs >= w * windowMs && c.atMs < (w + 1) * windowMs);
        for (const [n, list] of shares) {
          list.push((100 * inside.filter((c) => c.n === n).length) / Math.max(1, inside.length));
        }
      }
      return shares;
    },
  };
}

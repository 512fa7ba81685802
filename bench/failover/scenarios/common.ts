/** Shared pieces of the scenarios: the client profile and backend builders. */
import type { BackendSpec, Behaviour, ClientProfile, Phase } from '../types';

export type Mode = 'full' | 'quick';

/** Builds a scenario for a mode; `quick` is set only on the scenarios `--quick` runs (compressed). */
export interface ScenarioEntry {
  readonly name: string;
  readonly quick: boolean;
  readonly build: (mode: Mode) => import('../types').Scenario;
}

export const CLIENT: ClientProfile = { rate: 100, timeoutMs: 2000, noSelectionIdShare: 0.2, silentShare: 0 };

export const HEALTHY: Behaviour = {};

/** What a call takes besides the pause, about: the backend's 20 ms and a gateway round trip. */
const CALL_MS = 25;

/**
 * Closed-loop traffic: `count` conversations, one call at a time each, `thinkMs` (× 0.5–1.5)
 * between calls; `rate` is what they make about, for the metrics' time windows.
 */
export function conversations(count: number, thinkMs: number): ClientProfile {
  return { ...CLIENT, rate: Math.round((count * 1000) / (thinkMs + CALL_MS)), conversations: { count, thinkMs } };
}

/** `behaviour` in alternate windows of `periodS` from `fromS` to `toS` (ends healthy), e.g. flapping. */
export function alternating(fromS: number, toS: number, periodS: number, behaviour: Behaviour): Phase[] {
  const phases: Phase[] = [];
  for (let t = fromS; t < toS; t += 2 * periodS) {
    phases.push({ fromS: t, behaviour }, { fromS: Math.min(toS, t + periodS), behaviour: HEALTHY });
  }
  return phases;
}

/** Backends `${prefix}1…n` of one identifier, all following `script` unless `faulty` overrides one. */
export function backends(options: {
  prefix: string;
  count: number;
  apiIdentifier: string;
  routingParams?: Record<string, unknown>;
  scripts?: Record<string, readonly Phase[]>;
}): BackendSpec[] {
  return Array.from({ length: options.count }, (_, i) => {
    const businessId = `${options.prefix}${i + 1}`;
    return {
      businessId,
      apiIdentifier: options.apiIdentifier,
      routingParams: options.routingParams,
      script: options.scripts?.[businessId] ?? [],
    };
  });
}

/** `behaviour` from `fromS` to `toS`, healthy again afterwards. */
export function during(fromS: number, toS: number, behaviour: Behaviour): Phase[] {
  return [
    { fromS, behaviour },
    { fromS: toS, behaviour: HEALTHY },
  ];
}

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

/**
 * Why an instance cannot be chosen now (docs/resilience.md §2–3):
 * - `breaker`: OPEN, or HALF_OPEN with every probe slot taken;
 * - `operator`: FORCED_OPEN by an operator (never overridden, not even by `least-bad`);
 * - `cooldown`: a RATE_LIMITED report put it in cool-down;
 * - `quota`: the gateway's own limits for the backend (rpmLimit, tpmLimit, maxConcurrency).
 */
export const UNAVAILABILITY_KINDS = ['breaker', 'operator', 'cooldown', 'quota'] as const;
export type UnavailabilityKind = (typeof UNAVAILABILITY_KINDS)[number];

export interface Unavailability {
  readonly kind: UnavailabilityKind;
  /** For people: "maxConcurrency 4 reached", "breaker OPEN: 5 consecutive SERVER_ERROR". */
  readonly reason: string;
  /** When it may become selectable again (epoch ms), if known. */
  readonly retryAt?: number;
}

/** Capacity kinds: when only these stand in the way the answer is QUOTA_EXHAUSTED (429), a back-off. */
export function isCapacity(kind: string): boolean {
  return kind === 'quota' || kind === 'cooldown';
}

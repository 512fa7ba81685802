import type { Unavailability } from '../common/unavailability';
import type { Candidate } from './selection-strategy';

/** One candidate as judged while serving one identifier. */
export interface Judged {
  readonly candidate: Candidate;
  readonly unavailable?:
    Unavailability | { readonly kind: 'excluded'; readonly reason: string; readonly retryAt?: number };
}

/** The outcome of trying one identifier (the primary, or one fallback entry). */
export type Attempt =
  | { readonly kind: 'none'; readonly identifier: string }
  | {
      readonly kind: 'unavailable';
      readonly identifier: string;
      readonly judged: readonly Judged[];
      /** A STRICT affinity binding could not be honoured (others may have been selectable). */
      readonly affinityRefused?: boolean;
    }
  | {
      readonly kind: 'chosen';
      readonly identifier: string;
      readonly judged: readonly Judged[];
      readonly chosen: Candidate;
      readonly tier: number;
      readonly bestTier: number;
      readonly affinityBound: boolean;
      /** Chosen by `whenAllUnavailable: "least-bad"` although not selectable. */
      readonly leastBad: boolean;
    };

/** The highest `priority` among the matches, selectable or not (the best configured tier). */
export function bestTierOf(judged: readonly Judged[]): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const one of judged) best = Math.max(best, one.candidate.params.priority);
  return best;
}

/** The selectable candidates of the highest non-empty tier, and that tier. */
export function topTier(judged: readonly Judged[]): { tier: number; members: Candidate[] } {
  let tier = Number.NEGATIVE_INFINITY;
  for (const one of judged) if (!one.unavailable) tier = Math.max(tier, one.candidate.params.priority);
  const members: Candidate[] = [];
  for (const one of judged) if (!one.unavailable && one.candidate.params.priority === tier) members.push(one.candidate);
  return { tier, members };
}

/** Earliest time any unavailable candidate may be selectable again. */
export function earliestRetry(judged: readonly Judged[]): number | undefined {
  let earliest: number | undefined;
  for (const one of judged) {
    const at = one.unavailable?.retryAt;
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  }
  return earliest;
}

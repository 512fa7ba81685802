import type { Candidate } from '../protection/candidate';

// Strategy authors import everything they implement against from this one file.
export type { Candidate } from '../protection/candidate';

/** What a strategy knows of the request it decides for. */
export interface SelectionContext {
  readonly projectId: string;
  readonly apiType: string;
  /** The identifier (or fallback entry) being served. */
  readonly identifier: string;
  /**
   * Identifies this candidate set (project, apiType, identifier, tier), for strategies that keep
   * state per set, such as round-robin.
   */
  readonly setKey: string;
  readonly now: number;
  /** Uniform in [0, 1). Injected so tests are deterministic; use it instead of Math.random. */
  readonly random: () => number;
}

/**
 * A selection strategy: picks one of the (non-empty) selectable candidates. Must be fast (it runs
 * on every select: target median < 20 µs for 100 candidates), must not do I/O, and must not throw
 * for any non-empty input.
 *
 * @example
 * @SelectionStrategy('first-healthy')
 * @Injectable()
 * export class FirstHealthyStrategy implements SelectionStrategyHandler {
 *   pick(candidates: readonly Candidate[]): Candidate {
 *     return candidates[0];
 *   }
 * }
 */
export interface SelectionStrategyHandler {
  pick(candidates: readonly Candidate[], context: SelectionContext): Candidate;
  /**
   * Optional: the candidate's score under this strategy (higher is better), shown by
   * `explain: true`. Not called on the hot path unless explain is asked for.
   */
  score?(candidate: Candidate, context: SelectionContext): number;
}

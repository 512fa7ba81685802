/**
 * What a report means for the instance's health (docs/resilience.md §1). Classified once per report.
 */
export const OUTCOME_CLASSES = [
  'SUCCESS',
  'SERVER_ERROR',
  'TIMEOUT',
  'RATE_LIMITED',
  'AUTH_ERROR',
  'CLIENT_ERROR',
  'UNKNOWN',
] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

/** Outcome classes that count as a failure of the backend (breaker, success rate). */
export const FAILURE_CLASSES: ReadonlySet<OutcomeClass> = new Set<OutcomeClass>(['SERVER_ERROR', 'TIMEOUT', 'UNKNOWN']);

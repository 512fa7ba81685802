import { GatewayError } from '../common/gateway-error';
import { isCapacity } from '../common/unavailability';
import type { SelectInstanceDto } from './dto/select-instance.dto';
import { type Attempt, type Judged, earliestRetry } from './selection-attempt';

/** Identifiers listed in `details.tried` at most (a fallback chain holds up to 64); `triedCount` counts all. */
export const MAX_TRIED_LISTED = 20;
/** Distinct reasons quoted per identifier in `details.tried` (reasons may differ per instance). */
const MAX_REASONS_QUOTED = 3;

/** What was tried, for the error's details: identifier → why nothing could serve (the first {@link MAX_TRIED_LISTED}). */
function summary(attempts: readonly Attempt[]): { identifier: string; result: string }[] {
  return attempts.slice(0, MAX_TRIED_LISTED).map((attempt) => {
    switch (attempt.kind) {
      case 'none':
        return { identifier: attempt.identifier, result: 'no active instance matches' };
      case 'unavailable': {
        if (attempt.affinityRefused)
          return { identifier: attempt.identifier, result: 'STRICT affinity binding not selectable' };
        return {
          identifier: attempt.identifier,
          result: `${attempt.judged.length} not selectable: ${reasonsOf(attempt.judged)}`,
        };
      }
      case 'chosen':
        return { identifier: attempt.identifier, result: 'chosen' };
      default: {
        const unexpected: never = attempt;
        return unexpected;
      }
    }
  });
}

/** The first {@link MAX_REASONS_QUOTED} distinct reasons, and how many others there were. */
function reasonsOf(judged: readonly Judged[]): string {
  const reasons = new Set<string>();
  for (const one of judged) reasons.add(one.unavailable?.reason ?? 'selectable');
  const quoted = [...reasons].slice(0, MAX_REASONS_QUOTED);
  const more = reasons.size - quoted.length;
  return quoted.join('; ') + (more > 0 ? `; and ${more} other reason${more === 1 ? '' : 's'}` : '');
}

/**
 * The error when no identifier could serve, most specific first: nothing registered →
 * NO_AVAILABLE_INSTANCE; a STRICT binding refused → AFFINITY_UNAVAILABLE; only capacity in the way
 * (quotas, RATE_LIMITED cool-downs) → QUOTA_EXHAUSTED (429, a back-off); a fallback chain tried → FALLBACK_EXHAUSTED; else NO_HEALTHY_INSTANCE.
 * `details.tried` lists the first {@link MAX_TRIED_LISTED} identifiers tried and `details.triedCount`
 * counts them all; `details.retryAfterMs` says when the earliest instance may be selectable
 * again, when known.
 */
export function noSelectableInstance(
  request: SelectInstanceDto,
  attempts: readonly Attempt[],
  now: number,
): GatewayError {
  const tried = summary(attempts);
  const judged = attempts.flatMap((attempt) => (attempt.kind === 'unavailable' ? attempt.judged : []));
  const retryAt = earliestRetry(judged);
  const retryAfterMs = retryAt === undefined ? undefined : Math.max(0, retryAt - now);
  const details = {
    tried,
    triedCount: attempts.length,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  const target = `${request.apiType} '${request.apiIdentifier}'`;
  if (judged.length === 0) {
    return new GatewayError('NO_AVAILABLE_INSTANCE', `No active instance matches ${target}`, { details });
  }
  if (attempts.some((attempt) => attempt.kind === 'unavailable' && attempt.affinityRefused)) {
    return new GatewayError('AFFINITY_UNAVAILABLE', `The instance bound to affinity key is not selectable`, {
      details,
    });
  }
  if (judged.every((one) => isCapacity(one.unavailable?.kind ?? ''))) {
    const seconds = Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000));
    return new GatewayError('QUOTA_EXHAUSTED', `Every instance for ${target} is at its quota`, {
      details,
      headers: { 'Retry-After': String(seconds) },
    });
  }
  if ((request.fallbackChain?.length ?? 0) > 0) {
    return new GatewayError('FALLBACK_EXHAUSTED', `Nothing selectable for ${target} nor its fallback chain`, {
      details,
    });
  }
  return new GatewayError('NO_HEALTHY_INSTANCE', `No selectable instance for ${target}`, { details });
}

/**
 * The project holds `limit` open leases on this node (selections not reported yet): 429 until one
 * is reported or expires. `retryAfterMs` (and `Retry-After`) say when its earliest lease expires.
 */
export function leaseLimitReached(limit: number, earliestExpiry: number | undefined, now: number): GatewayError {
  const retryAfterMs = earliestExpiry === undefined ? undefined : Math.max(0, earliestExpiry - now);
  const seconds = Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000));
  return new GatewayError(
    'LEASE_LIMIT_REACHED',
    `The project holds ${limit} open leases (selections not reported yet); report results or wait for them to expire`,
    {
      details: { limit, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      headers: { 'Retry-After': String(seconds) },
    },
  );
}

/**
 * The project judged more candidates in the last second than `GATEWAY_SELECT_CANDIDATES_PER_SECOND`
 * allows (each select costs the candidates it judges): 429 until the budget refills.
 */
export function selectionBudgetExhausted(perSecond: number, retryAfterMs: number): GatewayError {
  return new GatewayError(
    'SELECTION_BUDGET_EXHAUSTED',
    `The project judged more than ${perSecond} candidates a second; retry after ${retryAfterMs} ms`,
    {
      details: { limit: perSecond, retryAfterMs },
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    },
  );
}

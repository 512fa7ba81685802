import { GatewayError } from '../common/gateway-error';
import { isCapacity } from '../common/unavailability';
import type { SelectInstanceDto } from './dto/select-instance.dto';
import { type Attempt, earliestRetry } from './selection-attempt';

/** What was tried, for the error's details: identifier → why nothing could serve. */
function summary(attempts: readonly Attempt[]): { identifier: string; result: string }[] {
  return attempts.map((attempt) => {
    switch (attempt.kind) {
      case 'none':
        return { identifier: attempt.identifier, result: 'no active instance matches' };
      case 'unavailable': {
        if (attempt.affinityRefused)
          return { identifier: attempt.identifier, result: 'STRICT affinity binding not selectable' };
        const reasons = [...new Set(attempt.judged.map((one) => one.unavailable?.reason ?? 'selectable'))];
        return {
          identifier: attempt.identifier,
          result: `${attempt.judged.length} not selectable: ${reasons.join('; ')}`,
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

/**
 * The error when no identifier could serve, most specific first: nothing registered →
 * NO_AVAILABLE_INSTANCE; a STRICT binding refused → AFFINITY_UNAVAILABLE; only capacity in the way
 * (quotas, RATE_LIMITED cool-downs) → QUOTA_EXHAUSTED (429, a back-off); a fallback chain tried → FALLBACK_EXHAUSTED; else NO_HEALTHY_INSTANCE.
 * `details.retryAfterMs` says when the earliest instance may be selectable again, when known.
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
  const details = { tried, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
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

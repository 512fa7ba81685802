import type { CandidateExplanationDto, SelectionExplanationDto } from './dto/select-instance.dto';
import type { Attempt } from './selection-attempt';
import type { SelectionStrategyHandler } from './selection-strategy';

/** `explain: true`: every candidate of every identifier tried, its state, score, and fate. */
export function explainSelection(
  attempts: readonly Attempt[],
  strategy: SelectionStrategyHandler,
  now: number,
  random: () => number,
): SelectionExplanationDto {
  const candidates: CandidateExplanationDto[] = [];
  for (const attempt of attempts) {
    if (attempt.kind === 'none') continue;
    const chosenId = attempt.kind === 'chosen' ? attempt.chosen.instance.id : undefined;
    const tier = attempt.kind === 'chosen' ? attempt.tier : undefined;
    for (const { candidate, unavailable } of attempt.judged) {
      const { instance, params, stats } = candidate;
      const chosen = instance.id === chosenId;
      const context = {
        projectId: instance.projectId,
        apiType: instance.apiType,
        identifier: attempt.identifier,
        setKey: `explain|${attempt.identifier}`,
        now,
        random,
      };
      const score = strategy.score && !unavailable ? strategy.score(candidate, context) : undefined;
      candidates.push({
        instanceId: instance.id,
        businessId: instance.businessId,
        apiIdentifier: instance.apiIdentifier,
        priority: params.priority,
        selectable: !unavailable,
        reason: chosen
          ? chosenReason(attempt)
          : unavailable
            ? unavailable.reason
            : tier !== undefined && params.priority < tier
              ? `lower tier (${params.priority} < ${tier})`
              : undefined,
        ...(score === undefined ? {} : { score }),
        chosen,
        callsInWindow: stats.calls,
        ...(stats.calls > 0 ? { successRate: stats.successes / stats.calls } : {}),
        latencyMs: Math.round(stats.latencyMs),
        openLeases: stats.openLeases,
      });
    }
  }
  return { tried: attempts.map((attempt) => attempt.identifier), candidates };
}

function chosenReason(attempt: Attempt): string {
  if (attempt.kind !== 'chosen') return 'chosen by the strategy';
  if (attempt.leastBad) return 'chosen: least-bad, nothing was selectable';
  return attempt.affinityBound ? 'chosen: affinity binding' : 'chosen by the strategy';
}

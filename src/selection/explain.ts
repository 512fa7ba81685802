import type {
  CandidateExplanationDto,
  NotSelectableCountsDto,
  SelectionExplanationDto,
} from './dto/select-instance.dto';
import type { Attempt, Judged } from './selection-attempt';
import type { SelectionContext, SelectionStrategyHandler } from './selection-strategy';
import { TopK } from './top-k';

/** What `explain` needs besides the attempts. */
export interface ExplainOptions {
  readonly now: number;
  readonly random: () => number;
  /** Candidates listed at most (the chosen one included); the others are only counted. */
  readonly maxCandidates: number;
}

type JudgedAttempt = Exclude<Attempt, { kind: 'none' }>;

/** One candidate while the best are chosen: what ranks it, and what describes it if listed. */
interface Ranked {
  readonly judged: Judged;
  readonly attempt: JudgedAttempt;
  /** Of the attempt that served (the chosen candidate's). */
  readonly served: boolean;
  readonly score: number | undefined;
  /** Arrival order: the last tie-break, so the list is deterministic. */
  readonly seq: number;
}

/**
 * `explain: true`: counts over every candidate of every identifier tried, and the details of at
 * most `maxCandidates` of them — the chosen one first, then the best (selectable before not
 * selectable; of the identifier served first; higher priority; higher score; sooner back), so
 * the answer's size does not grow with the instance count. Scores are computed for the
 * selectable candidates only (as `pick` saw them); the cost is O(n log k) for n candidates.
 */
export function explainSelection(
  attempts: readonly Attempt[],
  strategy: SelectionStrategyHandler,
  options: ExplainOptions,
): SelectionExplanationDto {
  const notSelectable: NotSelectableCountsDto = { breaker: 0, operator: 0, cooldown: 0, quota: 0, excluded: 0 };
  const servedIdentifier = attempts.find((attempt) => attempt.kind === 'chosen')?.identifier;
  const best = new TopK<Ranked>(Math.max(0, options.maxCandidates - 1), isBetter);
  let chosen: Ranked | undefined;
  let total = 0;
  let unavailable = 0;
  let seq = 0;
  for (const attempt of attempts) {
    if (attempt.kind === 'none') continue;
    const chosenId = attempt.kind === 'chosen' ? attempt.chosen.instance.id : undefined;
    const context = scoreContext(attempt, options);
    for (const judged of attempt.judged) {
      total++;
      if (judged.unavailable) {
        notSelectable[judged.unavailable.kind]++;
        unavailable++;
      }
      const score = strategy.score && !judged.unavailable ? strategy.score(judged.candidate, context) : undefined;
      const ranked: Ranked = { judged, attempt, served: attempt.identifier === servedIdentifier, score, seq: seq++ };
      if (judged.candidate.instance.id === chosenId) chosen = ranked;
      else best.offer(ranked);
    }
  }
  const listed = [...(chosen ? [chosen] : []), ...best.sorted()].slice(0, options.maxCandidates);
  return {
    tried: attempts.map((attempt) => attempt.identifier),
    totalCandidates: total,
    selectableCandidates: total - unavailable,
    notSelectable,
    omittedCandidates: total - listed.length,
    candidates: listed.map((ranked) => describe(ranked, ranked === chosen)),
  };
}

function scoreContext(attempt: JudgedAttempt, options: ExplainOptions): SelectionContext {
  const first = attempt.judged[0]?.candidate.instance;
  return {
    projectId: first?.projectId ?? '',
    apiType: first?.apiType ?? '',
    identifier: attempt.identifier,
    setKey: `explain|${attempt.identifier}`,
    now: options.now,
    random: options.random,
  };
}

/** Whether `a` is listed before `b`: a strict order over distinct candidates. */
function isBetter(a: Ranked, b: Ranked): boolean {
  const selectableA = !a.judged.unavailable;
  if (selectableA !== !b.judged.unavailable) return selectableA;
  if (a.served !== b.served) return a.served;
  const priorityA = a.judged.candidate.params.priority;
  const priorityB = b.judged.candidate.params.priority;
  if (priorityA !== priorityB) return priorityA > priorityB;
  const scoreA = a.score ?? 0;
  const scoreB = b.score ?? 0;
  if (scoreA !== scoreB) return scoreA > scoreB;
  const backA = a.judged.unavailable?.retryAt ?? Number.POSITIVE_INFINITY;
  const backB = b.judged.unavailable?.retryAt ?? Number.POSITIVE_INFINITY;
  if (backA !== backB) return backA < backB;
  return a.seq < b.seq;
}

function describe(ranked: Ranked, chosen: boolean): CandidateExplanationDto {
  const { judged, attempt, score } = ranked;
  const { instance, params, stats } = judged.candidate;
  return {
    instanceId: instance.id,
    businessId: instance.businessId,
    apiIdentifier: instance.apiIdentifier,
    priority: params.priority,
    selectable: !judged.unavailable,
    reason: reasonOf(judged, attempt, chosen),
    ...(score === undefined ? {} : { score }),
    chosen,
    callsInWindow: stats.calls,
    ...(stats.calls > 0 ? { successRate: stats.successes / stats.calls } : {}),
    latencyMs: Math.round(stats.latencyMs),
    openLeases: stats.openLeases,
  };
}

function reasonOf(judged: Judged, attempt: JudgedAttempt, chosen: boolean): string | undefined {
  if (chosen) return chosenReason(attempt);
  if (judged.unavailable) return judged.unavailable.reason;
  const tier = attempt.kind === 'chosen' ? attempt.tier : undefined;
  const priority = judged.candidate.params.priority;
  return tier !== undefined && priority < tier ? `lower tier (${priority} < ${tier})` : undefined;
}

function chosenReason(attempt: Attempt): string {
  if (attempt.kind !== 'chosen') return 'chosen by the strategy';
  if (attempt.leastBad) return 'chosen: least-bad, nothing was selectable';
  return attempt.affinityBound ? 'chosen: affinity binding' : 'chosen by the strategy';
}

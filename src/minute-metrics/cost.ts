/**
 * The cost figure (docs/figures.md), priced when a report is counted into its minute, so the
 * minute's `cost` column holds what the calls cost at the price in effect then.
 */

/** The usage a report carries (absent or null when not reported). */
export interface ReportedUsage {
  readonly cost?: number | null;
  readonly totalTokens?: number | null;
  readonly promptTokens?: number | null;
  readonly completionTokens?: number | null;
}

/**
 * What one call costs: the reported cost when there is one, else `costPerUnit` × its tokens
 * (`totalTokens`, else prompt + completion) when both are known, else undefined (nothing to add). `costPerUnit` is the
 * price of one token, in the project's own currency unit.
 */
export function costOfCall(reported: ReportedUsage, costPerUnit: number | undefined): number | undefined {
  if (typeof reported.cost === 'number') return reported.cost;
  if (costPerUnit === undefined || !(costPerUnit > 0)) return undefined;
  const tokens = tokensOfCall(reported);
  return tokens === undefined ? undefined : costPerUnit * tokens;
}

/**
 * A call's tokens for the tokens figure (docs/figures.md): `totalTokens`, else prompt + completion,
 * else undefined — the same tokens {@link costOfCall} prices.
 */
export function tokensOfCall(reported: ReportedUsage): number | undefined {
  const { totalTokens, promptTokens, completionTokens } = reported;
  if (typeof totalTokens === 'number') return totalTokens;
  const prompt = typeof promptTokens === 'number';
  const completion = typeof completionTokens === 'number';
  if (!prompt && !completion) return undefined;
  return (prompt ? promptTokens : 0) + (completion ? completionTokens : 0);
}

/** ISO-8601 (UTC) of an epoch-ms time, or undefined when there is none. */
export function isoOf(at: number | null | undefined): string | undefined {
  return at === null || at === undefined ? undefined : new Date(at).toISOString();
}

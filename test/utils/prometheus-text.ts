/** A metric family as `parse-prometheus-text-format` returns it. */
export interface Sample {
  readonly value?: string;
  readonly labels?: Record<string, string>;
}
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly Sample[];
}

/**
 * Parses Prometheus text exposition. CommonJS and untyped, so required here once. It collapses
 * labelled histograms into one unlabelled sample: read histogram series from the raw text.
 */
export const parsePrometheus = jest.requireActual<(text: string) => Family[]>('parse-prometheus-text-format');

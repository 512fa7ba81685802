/**
 * What strategies may read of an instance's recent behaviour. Implemented by the live,
 * per-instance statistics object; values are as of its last `refresh(now)`, which the selection
 * pipeline calls once per candidate before a strategy runs.
 */
export interface InstanceStatsView {
  /** Calls reported in the rolling window (60 s), every outcome class included. */
  readonly calls: number;
  /** SUCCESS reports in the window. */
  readonly successes: number;
  /**
   * Reports in the window that count against health (SERVER_ERROR, TIMEOUT, UNKNOWN). RATE_LIMITED,
   * CLIENT_ERROR and AUTH_ERROR are neither successes nor failures, as in the minute metrics and
   * every figure (docs/figures.md).
   */
  readonly failures: number;
  /**
   * Peak-EWMA latency in ms (decay ~10 s), failures penalised so fast failures do not look fast.
   * An instance never reported starts at a neutral 1000 ms. A score for ranking, not an average of
   * reported latencies: monitoring shows it as `latencyScoreMs`, never as `averageLatency`.
   */
  readonly latencyMs: number;
  /** EWMA of time to first token, ms; undefined until a report carried `ttftMs`. */
  readonly ttftMs: number | undefined;
  /** Selections handed out and not yet reported or expired (in cluster mode, by every node). */
  readonly openLeases: number;
  /** 0.1 → 1 over the slow-start period after the instance (re)joined; 1 when settled. */
  readonly slowStartFactor: number;
  /**
   * How long (ms) the oldest selection of this instance made since its last report has gone
   * unanswered, once at least three are pending (a caller that never reports leaves one pending);
   * 0 otherwise. A lower bound of the latency of a backend that
   * stopped answering, known before any of its slow answers arrives. Counts this node's selections
   * only; any report, here or (cluster mode) shared by another node, resets it.
   */
  readonly unansweredMs: number;
  /** Epoch ms of the last report, undefined if none. */
  readonly lastReportAt: number | undefined;
}

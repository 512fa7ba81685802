/**
 * Everything one part of the gateway tells the others (and, in cluster mode, the other nodes)
 * about shared state. A discriminated union: subscribers get the exact event type.
 */
export type StateEvent =
  /** An API key changed (created, bound, revoked, rotated away, deleted, edited): drop cached auth. */
  | { readonly type: 'apikey.changed'; readonly keyHash: string }
  /** A project's status or settings changed: cached principals and settings of it are stale. */
  | { readonly type: 'project.changed'; readonly projectId: string }
  /** A project and everything it owned are gone. */
  | { readonly type: 'project.deleted'; readonly projectId: string }
  /** Instances were created or changed (committed): other nodes reload them from the database. */
  | { readonly type: 'instances.changed'; readonly projectId: string; readonly instanceIds: readonly string[] }
  /** Instances were deleted (committed). */
  | { readonly type: 'instances.deleted'; readonly projectId: string; readonly instanceIds: readonly string[] }
  /**
   * Cluster mode only, never sent to other nodes: this node may have missed messages (Redis was
   * unreachable), so whatever it caches from the database must be reloaded from it.
   */
  | { readonly type: 'state.resync' }
  /** Webhook configuration changed (created, edited, deleted, secret rotated): reload it. */
  | { readonly type: 'webhooks.changed' }
  /**
   * Alerts: facts about this node that operators are told of (webhooks). Their subscribers act on
   * this node's own only (`origin.remote` false): another node tells its own.
   *
   * An instance reached its `rpmLimit` or `tpmLimit`: published once per instance, limit and
   * rolling minute (edge-triggered), not per refused selection.
   */
  | {
      readonly type: 'quota.exhausted';
      readonly instanceId: string;
      readonly limit: 'rpm' | 'tpm';
      readonly value: number;
      /** Epoch ms (injected clock). */
      readonly at: number;
    }
  /** A write-behind log (minute metrics, breaker events) could not write: once when writes start failing. */
  | {
      readonly type: 'write-behind.failed';
      readonly log: WriteBehindLog;
      readonly error: string;
      /** Rows or events held, waiting for the database. */
      readonly held: number;
      readonly at: number;
    }
  /** That log writes again, after `failedAttempts` failed ones. */
  | {
      readonly type: 'write-behind.recovered';
      readonly log: WriteBehindLog;
      readonly failedAttempts: number;
      readonly at: number;
    };

/** The write-behind logs whose failures are alerted. */
export type WriteBehindLog = 'minute-metrics' | 'breaker-events';

export type StateEventType = StateEvent['type'];
export type StateEventOf<T extends StateEventType> = Extract<StateEvent, { type: T }>;

/** Where an event came from: this node, or another node of the cluster (already committed there). */
export interface EventOrigin {
  readonly remote: boolean;
}

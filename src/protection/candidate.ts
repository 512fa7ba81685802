import type { InstanceRecord } from '../registry/instance-record';
import type { RoutingParams } from '../registry/routing-params';
import type { InstanceStatsView } from '../statistics/instance-stats-view';

/** One selectable instance, as a strategy sees it. Objects are reused between requests: do not keep them. */
export interface Candidate {
  readonly instance: InstanceRecord;
  /** Known routing parameters, typed, aliases resolved. */
  readonly params: RoutingParams;
  readonly stats: InstanceStatsView;
}

import { CreateSettings1767225600000 } from './migrations/1767225600000-create-settings';
import { CreateTenancy1767225700000 } from './migrations/1767225700000-create-tenancy';
import { CreateApiInstances1767225800000 } from './migrations/1767225800000-create-api-instances';
import { CreateBreakerEvents1767225900000 } from './migrations/1767225900000-create-breaker-events';
import { CreateInstanceMetricsMinute1767226000000 } from './migrations/1767226000000-create-instance-metrics-minute';
import { AdminTokenVersion1767226100000 } from './migrations/1767226100000-admin-token-version';
import { BinaryInstanceKeys1767226200000 } from './migrations/1767226200000-binary-instance-keys';
import { InstanceEndpoint1767226300000 } from './migrations/1767226300000-instance-endpoint';
import { Alerts1767226400000 } from './migrations/1767226400000-alerts';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works under
 * ts-jest, ts-node and the compiled build.
 */
export const MIGRATIONS = [
  CreateSettings1767225600000,
  CreateTenancy1767225700000,
  CreateApiInstances1767225800000,
  CreateBreakerEvents1767225900000,
  CreateInstanceMetricsMinute1767226000000,
  AdminTokenVersion1767226100000,
  BinaryInstanceKeys1767226200000,
  InstanceEndpoint1767226300000,
  Alerts1767226400000,
];

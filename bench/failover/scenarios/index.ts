/** Every scenario, in the order a full run plays them. */
import { breakerOnly } from './breaker-only';
import { brownOut } from './brown-out';
import { callerErrors } from './caller-errors';
import type { ScenarioEntry } from './common';
import { fallbackChain } from './fallback-chain';
import { hardOutage } from './hard-outage';
import { latencySpike } from './latency-spike';
import { lowTrafficOutage } from './low-traffic-outage';
import { rateLimitStorm } from './rate-limit-storm';
import { silentCaller } from './silent-caller';
import { tierDown } from './tier-down';

export const SCENARIOS: readonly ScenarioEntry[] = [
  hardOutage,
  callerErrors,
  rateLimitStorm,
  lowTrafficOutage,
  brownOut,
  latencySpike,
  tierDown,
  fallbackChain,
  silentCaller,
  breakerOnly,
];

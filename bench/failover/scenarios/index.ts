/** Every scenario, in the order a full run plays them. */
import { breakerOnly } from './breaker-only';
import { brownOut } from './brown-out';
import { callerErrors } from './caller-errors';
import type { ScenarioEntry } from './common';
import { fallbackChain } from './fallback-chain';
import { flapping } from './flapping';
import { gradualDegradation } from './gradual-degradation';
import { hardOutage } from './hard-outage';
import { isolatedBlips } from './isolated-blips';
import { latencySpike } from './latency-spike';
import { lowTrafficOutage } from './low-traffic-outage';
import { providerOutage } from './provider-outage';
import { rateLimitStorm } from './rate-limit-storm';
import { concurrentConversations, sequential, sequentialWeighted } from './sequential';
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
  gradualDegradation,
  flapping,
  providerOutage,
  isolatedBlips,
  sequential,
  sequentialWeighted,
  concurrentConversations,
];

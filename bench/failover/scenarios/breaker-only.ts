import { CLIENT, type ScenarioEntry, backends, during } from './common';

/**
 * The hard outage again, selected by `round-robin`, which keeps sending the dead instance its
 * share: only the circuit breaker can take it out of rotation and, through HALF_OPEN probes,
 * put it back. `smart` hides a breaker that never trips (it stops choosing a failing instance
 * after two or three failures), so the quick test's breaker assertions run on this scenario.
 * Breakers open for 2 s, then 3 s at most, so that the probes after the fault fit the run.
 */
export const breakerOnly: ScenarioEntry = {
  name: 'breaker-only',
  quick: true,
  build: (mode) => {
    const [from, to, end, rate] = mode === 'quick' ? [3, 11, 22, 50] : [10, 40, 85, 100];
    return {
      name: 'breaker-only',
      description: `round-robin, 1 of 3 instances down (connection refused) ${from}–${to} s at ${rate} calls/s: the breaker alone`,
      target: 'the dead instance trips during the fault and closes through HALF_OPEN after it',
      durationS: end,
      primary: 'rr',
      gatewayStrategy: 'round-robin',
      backends: backends({
        prefix: 'r',
        count: 3,
        apiIdentifier: 'rr',
        routingParams: { breaker: { openSeconds: 2, maxOpenSeconds: 3 } },
        scripts: { r2: during(from, to, { down: true }) },
      }),
      faults: [{ businessId: 'r2', label: 'r2 down', startS: from, endS: to }],
      client: { ...CLIENT, rate },
    };
  },
};

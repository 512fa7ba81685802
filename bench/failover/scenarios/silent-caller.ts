import { CLIENT, type ScenarioEntry, backends, during } from './common';

/**
 * 20 % of calls are never reported, against instances with `maxConcurrency` and a short lease
 * (timeoutMs 1 s → lease TTL 6 s), through an outage: probe slots and capacity must come back
 * when those leases expire, and no breaker may stay wedged.
 */
export const silentCaller: ScenarioEntry = {
  name: 'silent-caller',
  quick: false,
  build: () => ({
    name: 'silent-caller',
    description: '20 % of callers never report; maxConcurrency 25, lease TTL 6 s; h2 down 10–25 s at 30 calls/s',
    target: 'no breaker wedged, capacity back after lease expiry',
    durationS: 60,
    primary: 'chat',
    backends: backends({
      prefix: 'h',
      count: 3,
      apiIdentifier: 'chat',
      routingParams: { maxConcurrency: 25, timeoutMs: 1000 },
      scripts: { h2: during(10, 25, { down: true }) },
    }),
    faults: [{ businessId: 'h2', label: 'h2 down', startS: 10, endS: 25 }],
    client: { ...CLIENT, rate: 30, timeoutMs: 1000, silentShare: 0.2 },
  }),
};

import { CLIENT, type ScenarioEntry, backends, during } from './common';

/**
 * The hard outage at 1 call/s: the reference's "≥ 10 calls in a minute" never trips here. The
 * fault starts at 30 s, after the instance has served its share (~10 calls), so that a policy
 * has seen it healthy before it fails.
 */
export const lowTrafficOutage: ScenarioEntry = {
  name: 'low-traffic-outage',
  quick: false,
  build: () => ({
    name: 'low-traffic-outage',
    description: '1 of 3 instances down 30–60 s at 1 call/s',
    target: 'out after ≤ 5 failed calls',
    durationS: 100,
    primary: 'chat',
    backends: backends({
      prefix: 'l',
      count: 3,
      apiIdentifier: 'chat',
      scripts: { l2: during(30, 60, { down: true }) },
    }),
    faults: [{ businessId: 'l2', label: 'l2 down', startS: 30, endS: 60 }],
    client: { ...CLIENT, rate: 1 },
  }),
};

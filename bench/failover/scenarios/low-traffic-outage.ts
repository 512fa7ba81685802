import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** The hard outage at 1 call/s: the reference's "≥ 10 calls in a minute" never trips here. */
export const lowTrafficOutage: ScenarioEntry = {
  name: 'low-traffic-outage',
  quick: false,
  build: () => ({
    name: 'low-traffic-outage',
    description: '1 of 3 instances down 10–40 s at 1 call/s',
    target: 'out after ≤ 5 failed calls',
    durationS: 80,
    primary: 'chat',
    backends: backends({
      prefix: 'l',
      count: 3,
      apiIdentifier: 'chat',
      scripts: { l2: during(10, 40, { down: true }) },
    }),
    faults: [{ businessId: 'l2', label: 'l2 down', startS: 10, endS: 40 }],
    client: { ...CLIENT, rate: 1 },
  }),
};

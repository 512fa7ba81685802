import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** One of three instances answers 500 to 30 % of calls for 35 s. */
export const brownOut: ScenarioEntry = {
  name: 'brown-out',
  quick: false,
  build: () => ({
    name: 'brown-out',
    description: '1 of 3 instances answers 30 % 500s 10–45 s at 100 calls/s',
    target: 'success ≥ 97 %',
    durationS: 45,
    primary: 'chat',
    backends: backends({
      prefix: 'b',
      count: 3,
      apiIdentifier: 'chat',
      scripts: { b1: during(10, 45, { errorRate: 0.3 }) },
    }),
    faults: [{ businessId: 'b1', label: 'b1 30 % errors', startS: 10 }],
    client: CLIENT,
  }),
};

import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** One of three instances refuses connections for 30 s (10 s in quick mode), then comes back. */
export const hardOutage: ScenarioEntry = {
  name: 'hard-outage',
  quick: true,
  build: (mode) => {
    const [from, to, end, rate] = mode === 'quick' ? [3, 13, 22, 50] : [10, 40, 85, 100];
    return {
      name: 'hard-outage',
      description: `1 of 3 instances down (connection refused) ${from}–${to} s at ${rate} calls/s`,
      target: '≤ 10 failed calls; full share within 40 s of the backend returning',
      durationS: end,
      primary: 'chat',
      backends: backends({
        prefix: 'a',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { a2: during(from, to, { down: true }) },
      }),
      faults: [{ businessId: 'a2', label: 'a2 down', startS: from, endS: to }],
      client: { ...CLIENT, rate },
    };
  },
};

import { CLIENT, type ScenarioEntry, alternating, backends } from './common';

/**
 * One of three instances flaps: 10 s refusing connections, 10 s healthy, for two minutes. Each
 * return invites it back; each fall costs whatever the policy sends it before it notices again.
 */
export const flapping: ScenarioEntry = {
  name: 'flapping',
  quick: true,
  build: (mode) => {
    const [from, to, periodS, end, rate] = mode === 'quick' ? [3, 23, 5, 28, 50] : [20, 140, 10, 160, 100];
    return {
      name: 'flapping',
      description: `1 of 3 instances down (connection refused) ${periodS} s / up ${periodS} s from ${from} to ${to} s at ${rate} calls/s`,
      target: 'failed attempts on f2 ≤ 1/10 of round-robin’s',
      durationS: end,
      primary: 'chat',
      backends: backends({
        prefix: 'f',
        count: 3,
        apiIdentifier: 'chat',
        scripts: { f2: alternating(from, to, periodS, { down: true }) },
      }),
      faults: [{ businessId: 'f2', label: 'f2 flapping', startS: from, endS: to - periodS }],
      client: { ...CLIENT, rate },
    };
  },
};

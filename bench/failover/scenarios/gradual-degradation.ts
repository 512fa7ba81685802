import type { Phase } from '../types';
import { CLIENT, type ScenarioEntry, backends } from './common';

const STEP_S = 5;

/** The error rate climbs to `top` in equal steps every STEP_S over `rampS`, then holds. */
function ramp(fromS: number, rampS: number, top: number): Phase[] {
  const steps = rampS / STEP_S;
  return Array.from({ length: steps }, (_, k) => ({
    fromS: fromS + (k + 1) * STEP_S,
    behaviour: { errorRate: Math.round((1000 * top * (k + 1)) / steps) / 1000 },
  }));
}

/**
 * One of three instances degrades slowly: its share of 500s climbs 2.5 points every 5 s from 0 to
 * 60 % over two minutes, then holds. No single step looks like an outage; a policy has to notice
 * the instance getting worse than its peers and move traffic off it as it does.
 */
export const gradualDegradation: ScenarioEntry = {
  name: 'gradual-degradation',
  quick: false,
  build: () => {
    const [from, rampS, holdS] = [15, 120, 30];
    return {
      name: 'gradual-degradation',
      description: `1 of 3 instances answers 500 to a share of calls rising 0 → 60 % (2.5 points every ${STEP_S} s) ${from}–${from + rampS} s, then 60 % to the end, at 100 calls/s`,
      target: 'failed attempts on d2 ≤ 1/10 of round-robin’s',
      durationS: from + rampS + holdS,
      primary: 'chat',
      backends: backends({ prefix: 'd', count: 3, apiIdentifier: 'chat', scripts: { d2: ramp(from, rampS, 0.6) } }),
      faults: [{ businessId: 'd2', label: 'd2 degrading', startS: from }],
      client: CLIENT,
    };
  },
};

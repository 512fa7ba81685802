import type { Phase } from '../types';
import { CLIENT, HEALTHY, type ScenarioEntry, backends } from './common';

/** Storms of 429s on one instance; each answer's Retry-After is the time left in the storm. */
function storms(onsets: readonly number[], lengthS: number): Phase[] {
  return onsets.flatMap((from) => [
    ...Array.from({ length: lengthS }, (_, k) => ({
      fromS: from + k,
      behaviour: { rateLimited: { retryAfterS: lengthS - k } },
    })),
    { fromS: from + lengthS, behaviour: HEALTHY },
  ]);
}

export const rateLimitStorm: ScenarioEntry = {
  name: 'rate-limit-storm',
  quick: true,
  build: (mode) => {
    const [onsets, length, end, rate] = mode === 'quick' ? [[3, 10], 3, 16, 50] : [[10, 22, 34], 5, 45, 100];
    return {
      name: 'rate-limit-storm',
      description: `1 of 3 instances answers 429 + Retry-After for ${length} s from ${onsets.join(', ')} s at ${rate} calls/s`,
      target: '≤ 2 RATE_LIMITED per storm onset',
      durationS: end,
      primary: 'chat',
      backends: backends({ prefix: 'r', count: 3, apiIdentifier: 'chat', scripts: { r1: storms(onsets, length) } }),
      faults: onsets.map((from, k) => ({
        businessId: 'r1',
        label: `storm ${k + 1}`,
        startS: from,
        endS: from + length,
      })),
      client: { ...CLIENT, rate },
    };
  },
};

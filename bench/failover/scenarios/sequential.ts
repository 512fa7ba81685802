import type { BackendSpec, ClientProfile, Scenario } from '../types';
import { type ScenarioEntry, backends, conversations } from './common';

const THINK_MS = 20;

/** A fault-free scenario on `chat`, judged by the share gap. */
function fairness(options: {
  name: string;
  description: string;
  target: string;
  durationS: number;
  backends: BackendSpec[];
  client: ClientProfile;
}): Scenario {
  return { ...options, primary: 'chat', faults: [], mainFigure: 'share-gap' };
}

/**
 * One conversation — one call at a time, as one user chatting — over three identical instances,
 * no fault: a policy that rewards the instance that already has traffic piles the calls onto it.
 * The pause is short so that a minute holds enough calls (~1300) to judge a share within ±5 points.
 */
export const sequential: ScenarioEntry = {
  name: 'sequential',
  quick: true,
  build: (mode) => {
    const end = mode === 'quick' ? 20 : 125;
    return fairness({
      name: 'sequential',
      description: `1 conversation (one call at a time, ${THINK_MS} ms × 0.5–1.5 between calls) over 3 identical instances for ${end} s`,
      target: 'every share within ±5 points of fair (33.3 %) over each minute',
      durationS: end,
      backends: backends({ prefix: 'q', count: 3, apiIdentifier: 'chat' }),
      client: conversations(1, THINK_MS),
    });
  },
};

/** The same conversation over instances of weights 1, 2 and 3: fair shares 16.7 / 33.3 / 50 %. */
export const sequentialWeighted: ScenarioEntry = {
  name: 'sequential-weighted',
  quick: false,
  build: () =>
    fairness({
      name: 'sequential-weighted',
      description: `1 conversation (one call at a time, ${THINK_MS} ms × 0.5–1.5 between calls) over 3 instances of weight 1, 2, 3 for 125 s`,
      target: 'every share within ±5 points of weight-proportional (16.7 / 33.3 / 50 %) over each minute',
      durationS: 125,
      backends: [1, 2, 3].map((weight) => ({
        businessId: `w${weight}`,
        apiIdentifier: 'chat',
        routingParams: { weight },
        script: [],
      })),
      client: conversations(1, THINK_MS),
    }),
};

/** Twelve conversations at once over three identical instances (~100 calls/s), no fault. */
export const concurrentConversations: ScenarioEntry = {
  name: 'concurrent-conversations',
  quick: false,
  build: () =>
    fairness({
      name: 'concurrent-conversations',
      description:
        '12 conversations (one call at a time each, 100 ms × 0.5–1.5 between calls) over 3 identical instances for 125 s',
      target: 'every share within ±5 points of fair (33.3 %) over each minute',
      durationS: 125,
      backends: backends({ prefix: 'k', count: 3, apiIdentifier: 'chat' }),
      client: conversations(12, 100),
    }),
};

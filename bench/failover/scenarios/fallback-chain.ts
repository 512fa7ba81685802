import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** Every instance of the primary identifier goes down; the request's fallbackChain names another. */
export const fallbackChain: ScenarioEntry = {
  name: 'fallback-chain',
  quick: false,
  build: () => {
    const down = during(10, 30, { down: true });
    return {
      name: 'fallback-chain',
      description: "primary 'chat-large' (f1, f2) down 10–30 s; fallbackChain ['chat-small'] (g1, g2)",
      durationS: 65,
      primary: 'chat-large',
      fallbackChain: ['chat-small'],
      backends: [
        ...backends({ prefix: 'f', count: 2, apiIdentifier: 'chat-large', scripts: { f1: down, f2: down } }),
        ...backends({ prefix: 'g', count: 2, apiIdentifier: 'chat-small' }),
      ],
      faults: [
        { businessId: 'f1', label: 'f1 down', startS: 10, endS: 30 },
        { businessId: 'f2', label: 'f2 down', startS: 10, endS: 30 },
      ],
      client: CLIENT,
    };
  },
};

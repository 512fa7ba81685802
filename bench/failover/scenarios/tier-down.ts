import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** Both instances of the top priority tier go down; the lower tier must take the traffic, then give it back. */
export const tierDown: ScenarioEntry = {
  name: 'tier-down',
  quick: false,
  build: () => {
    const down = during(10, 30, { down: true });
    return {
      name: 'tier-down',
      description: 'top tier (t1, t2; priority 10) down 10–30 s; lower tier (u1, u2; priority 0) serves',
      durationS: 70,
      primary: 'chat',
      backends: [
        ...backends({
          prefix: 't',
          count: 2,
          apiIdentifier: 'chat',
          routingParams: { priority: 10 },
          scripts: { t1: down, t2: down },
        }),
        ...backends({ prefix: 'u', count: 2, apiIdentifier: 'chat', routingParams: { priority: 0 } }),
      ],
      faults: [
        { businessId: 't1', label: 't1 down', startS: 10, endS: 30 },
        { businessId: 't2', label: 't2 down', startS: 10, endS: 30 },
      ],
      client: CLIENT,
    };
  },
};

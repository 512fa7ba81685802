import { CLIENT, type ScenarioEntry, during } from './common';

/**
 * Four instances of one identifier, two per provider (`routingParams.provider`): the preferred
 * provider's pair in the top tier (`priority` 1), the other provider's as the fallback tier. Both
 * preferred ones answer 503 to every call for 30 s, as a provider-wide outage does (an answer,
 * not a refused connection: each failure costs a round trip and is weaker evidence than a
 * refusal), and the traffic must fall back to the other provider. The trap is correlated: a retry
 * after a failure on p1 that lands on its sibling p2 fails too.
 */
export const providerOutage: ScenarioEntry = {
  name: 'provider-outage',
  quick: true,
  build: (mode) => {
    const [from, to, end, rate] = mode === 'quick' ? [4, 14, 20, 50] : [15, 45, 70, 100];
    const outage = during(from, to, { errorRate: 1, errorStatus: 503 });
    const instance = (businessId: string, provider: string, down: boolean) => ({
      businessId,
      apiIdentifier: 'chat',
      routingParams: { provider, priority: down ? 1 : 0 },
      script: down ? outage : [],
    });
    return {
      name: 'provider-outage',
      description: `4 instances, 2 per provider, alpha preferred (top tier), beta the fallback tier; alpha's p1 and p2 answer 503 to every call ${from}–${to} s at ${rate} calls/s`,
      target: '≤ 10 failed attempts on each of p1, p2; no failed call',
      durationS: end,
      primary: 'chat',
      backends: [
        instance('p1', 'alpha', true),
        instance('p2', 'alpha', true),
        instance('p3', 'beta', false),
        instance('p4', 'beta', false),
      ],
      faults: [
        { businessId: 'p1', label: 'p1 (alpha) 503s', startS: from, endS: to },
        { businessId: 'p2', label: 'p2 (alpha) 503s', startS: from, endS: to },
      ],
      client: { ...CLIENT, rate },
    };
  },
};

import { CLIENT, type ScenarioEntry, backends, during } from './common';

/** One of three instances gets ten times slower (slow first byte: 200 ms instead of 20 ms). */
export const latencySpike: ScenarioEntry = {
  name: 'latency-spike',
  quick: false,
  build: () => ({
    name: 'latency-spike',
    description: '1 of 3 instances ×10 latency (slow first byte, 200 ms) 10–40 s at 100 calls/s',
    target: 'p99 call latency ≤ 1.5 × the oracle’s',
    durationS: 45,
    primary: 'chat',
    backends: backends({
      prefix: 's',
      count: 3,
      apiIdentifier: 'chat',
      scripts: { s3: during(10, 40, { latencyMs: 200, firstByteMs: 190 }) },
    }),
    faults: [{ businessId: 's3', label: 's3 ×10 latency', startS: 10, endS: 40 }],
    client: CLIENT,
  }),
};

import type { InstanceRecord } from '../../src/registry/instance-record';
import { type CandidateQuery, RegistryIndex } from '../../src/registry/registry-index';
import { mulberry32, type SyntheticOptions, syntheticInstances } from './synthetic-instances';
import { type Latency, latency, timeMs } from './timing';

const USERS_PER_PROJECT = 5;

/** 45 % by apiIdentifier, 35 % by businessId (some INACTIVE, so empty), 20 % by apiIdentifier + userId. */
function buildQueries(records: readonly InstanceRecord[], count: number, seed: number): CandidateQuery[] {
  const random = mulberry32(seed + 1);
  const queries: CandidateQuery[] = [];
  for (let i = 0; i < count; i++) {
    const record = records[Math.floor(random() * records.length)];
    const base = { projectId: record.projectId, apiType: record.apiType };
    const kind = random();
    if (kind < 0.45) queries.push({ ...base, identifier: record.apiIdentifier });
    else if (kind < 0.8) queries.push({ ...base, identifier: record.businessId });
    else {
      const userId = `user-${Math.floor(random() * USERS_PER_PROJECT)}`;
      queries.push({ ...base, identifier: record.apiIdentifier, userId });
    }
  }
  return queries;
}

function timeCandidates(index: RegistryIndex, queries: readonly CandidateQuery[]) {
  const samples = new Float64Array(queries.length);
  let nonEmpty = 0;
  let returned = 0;
  for (let i = 0; i < queries.length; i++) {
    const start = process.hrtime.bigint();
    const result = index.candidates(queries[i]);
    samples[i] = Number(process.hrtime.bigint() - start);
    if (result.length > 0) nonEmpty++;
    returned += result.length;
  }
  return { latency: latency(samples), nonEmpty, meanReturned: returned / queries.length };
}

function timeGets(index: RegistryIndex, ids: readonly string[]): Latency {
  const samples = new Float64Array(ids.length);
  let found = 0;
  for (let i = 0; i < ids.length; i++) {
    const start = process.hrtime.bigint();
    const record = index.get(ids[i]);
    samples[i] = Number(process.hrtime.bigint() - start);
    if (record !== undefined) found++;
  }
  if (found !== ids.length) throw new Error(`get() missed ${ids.length - found} known ids`);
  return latency(samples);
}

/**
 * candidates() and get() latency against a warmed `index`, plus one more replaceAll of the same
 * rows now that the JIT has seen it.
 */
export function measureLookups(index: RegistryIndex, data: SyntheticOptions, lookups: number) {
  // Regenerated rather than kept, so queries carry their own string copies, as parsed requests do.
  const records = syntheticInstances(data);
  const repeatMs = timeMs(() => new RegistryIndex().replaceAll(records));
  const queries = buildQueries(records, lookups, data.seed);
  const random = mulberry32(data.seed + 2);
  const ids = Array.from({ length: lookups }, () => records[Math.floor(random() * records.length)].id);
  return { repeatMs, candidates: timeCandidates(index, queries), get: timeGets(index, ids) };
}

/**
 * The two tenants of the noisy-neighbour bench, seeded through the gateway's HTTP API: a victim
 * project with a few instances (bench/http's seed), and the hostile tenant's two projects — one
 * holding 5000 instances under one identifier for the explain attack, one that the batch attack
 * churns (the first is at the per-project instance cap, so the batches need room elsewhere).
 */
import {
  type AdminCredentials,
  type Fixture,
  adminLogin,
  call,
  createProject,
  registerBatch,
  seed,
} from '../http/seed';
import { SELECT_PATH } from '../http/scenarios';
import { SEED_BATCH, WIDE_IDENTIFIER, wideInstance } from './attacks';

export const VICTIM = { identifiers: 2, instancesPerIdentifier: 5 } as const;
/**
 * The victim's unreported selects hold their lease 2 s (its `quotas.leaseTtlMs`) rather than the
 * default 60 s: a closed-loop select load of thousands a second, never reported, would otherwise
 * reach the per-project lease cap (50,000) and be refused — the victim's own limit, not the
 * neighbour's doing. A real client reports its calls and closes its leases.
 */
const VICTIM_SETTINGS = { quotas: { leaseTtlMs: 2000 } };

export interface Tenants {
  readonly victim: Fixture;
  readonly wideKey: string;
  readonly batchKey: string;
  readonly wideInstances: number;
}

/** Seeds both tenants; `wide` instances go to the hostile wide project, registered `SEED_BATCH` at a time. */
export async function seedTenants(base: string, admin: AdminCredentials, wide: number): Promise<Tenants> {
  const victim = await seed(base, {
    projects: 1,
    ...VICTIM,
    ...admin,
    projectPrefix: 'abuse-victim',
  });
  const settings = await fetch(`${base}/api/projects/current/settings`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', 'api-key': victim.tenants[0].key },
    body: JSON.stringify(VICTIM_SETTINGS),
  });
  if (settings.status !== 200) throw new Error(`victim settings: ${settings.status} ${await settings.text()}`);
  const adminHeaders = await adminLogin(base, admin);
  const wideProject = await createProject(base, adminHeaders, 'abuse-hostile-wide');
  for (let from = 0; from < wide; from += SEED_BATCH) {
    const chunk = Array.from({ length: Math.min(SEED_BATCH, wide - from) }, (_, i) => wideInstance(from + i));
    await registerBatch(base, wideProject.key, chunk);
  }
  const batchProject = await createProject(base, adminHeaders, 'abuse-hostile-batch');
  return { victim, wideKey: wideProject.key, batchKey: batchProject.key, wideInstances: wide };
}

/** One explain select over the wide project: the answer's size, and how many candidates it lists and counts. */
export async function explainSample(
  base: string,
  wideKey: string,
): Promise<{ bytes: number; listed: number; total: number }> {
  const { data, text } = await call<{ explain?: { candidates?: unknown[]; totalCandidates?: number } }>(
    base,
    SELECT_PATH,
    { apiIdentifier: WIDE_IDENTIFIER, apiType: 'MODEL', explain: true },
    { 'api-key': wideKey },
  );
  return {
    bytes: Buffer.byteLength(text),
    listed: data.explain?.candidates?.length ?? 0,
    total: data.explain?.totalCandidates ?? 0,
  };
}

/**
 * Seeds a freshly started gateway through its real HTTP API: admin login, projects, one key each,
 * instances registered with the project key, and one real select-instance response to size the
 * baseline by.
 */

export const API_TYPE = 'MODEL';

export interface SeededInstance {
  readonly id: string;
  readonly businessId: string;
  readonly apiIdentifier: string;
}

export interface Tenant {
  readonly projectId: string;
  readonly key: string;
  readonly instances: readonly SeededInstance[];
}

export interface Fixture {
  readonly tenants: readonly Tenant[];
  readonly identifiers: readonly string[];
}

export interface SeedOptions {
  readonly projects: number;
  readonly identifiers: number;
  readonly instancesPerIdentifier: number;
  readonly adminUsername: string;
  readonly adminPassword: string;
}

interface Envelope<T> {
  readonly code: number;
  readonly data: T;
}

/** One JSON call; anything but HTTP 200 throws with the body. */
export async function call<T>(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ data: T; text: string }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { data: (JSON.parse(text) as Envelope<T>).data, text };
}

export async function seed(base: string, options: SeedOptions): Promise<Fixture> {
  const login = await call<{ accessToken: string }>(base, '/api/admin/auth/login', {
    username: options.adminUsername,
    password: options.adminPassword,
  });
  const admin = { authorization: `Bearer ${login.data.accessToken}` };
  const identifiers = Array.from({ length: options.identifiers }, (_, k) => `model-${k}`);
  const tenants: Tenant[] = [];
  for (let p = 0; p < options.projects; p++) {
    const project = await call<{ id: string }>(base, '/api/admin/projects', { name: `http-bench-${p}` }, admin);
    const key = await call<{ apiKeyValue: string }>(base, `/api/admin/projects/${project.data.id}/apikeys`, {}, admin);
    const wanted = identifiers.flatMap((apiIdentifier, k) =>
      Array.from({ length: options.instancesPerIdentifier }, (_, i) => ({
        apiIdentifier,
        apiType: API_TYPE,
        businessId: `inst-${k * options.instancesPerIdentifier + i}`,
        routingParams: { weight: 1 },
      })),
    );
    const created = await call<{ id: string | number; businessId: string; apiIdentifier: string }[]>(
      base,
      '/api/instances/batch',
      { instances: wanted },
      { 'api-key': key.data.apiKeyValue },
    );
    if (created.data.length !== wanted.length) {
      throw new Error(`project ${p}: registered ${created.data.length} instances, expected ${wanted.length}`);
    }
    tenants.push({
      projectId: project.data.id,
      key: key.data.apiKeyValue,
      instances: created.data.map((i) => ({
        id: String(i.id),
        businessId: i.businessId,
        apiIdentifier: i.apiIdentifier,
      })),
    });
  }
  return { tenants, identifiers };
}

export function selectBody(apiIdentifier: string): string {
  return JSON.stringify({ apiIdentifier, apiType: API_TYPE });
}

/** One real select-instance exchange: the request body sent and the response text received. */
export async function sampleSelect(base: string, fixture: Fixture): Promise<{ request: string; response: string }> {
  const request = selectBody(fixture.identifiers[0]);
  const { text } = await call<unknown>(base, '/api/gateway/select-instance', JSON.parse(request), {
    'api-key': fixture.tenants[0].key,
  });
  return { request, response: text };
}

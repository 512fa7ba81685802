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
  /** Projects are named `<projectPrefix>-<n>` (default `http-bench`). */
  readonly projectPrefix?: string;
  /** Each project's `quotas.leaseTtlMs` (the gateway's default, 60 s, when absent). */
  readonly leaseTtlMs?: number;
}

/** An admin's credentials, as the gateway was started with. */
export interface AdminCredentials {
  readonly adminUsername: string;
  readonly adminPassword: string;
}

/** A project created by {@link createProject}, with its one API key. */
export interface CreatedProject {
  readonly projectId: string;
  readonly key: string;
}

interface Envelope<T> {
  readonly code: number;
  readonly data: T;
}

/** One JSON call (POST unless `method` says otherwise); anything but HTTP 200 throws with the body. */
export async function call<T>(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ data: T; text: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { data: (JSON.parse(text) as Envelope<T>).data, text };
}

/** Logs the admin in; the headers that carry its token. Admin logins are throttled: log in once per run. */
export async function adminLogin(base: string, admin: AdminCredentials): Promise<Record<string, string>> {
  const login = await call<{ accessToken: string }>(base, '/api/admin/auth/login', {
    username: admin.adminUsername,
    password: admin.adminPassword,
  });
  return { authorization: `Bearer ${login.data.accessToken}` };
}

/** Creates a project named `name` and issues it one API key (full scopes). */
export async function createProject(
  base: string,
  adminHeaders: Record<string, string>,
  name: string,
): Promise<CreatedProject> {
  const project = await call<{ id: string }>(base, '/api/admin/projects', { name }, adminHeaders);
  const key = await call<{ apiKeyValue: string }>(
    base,
    `/api/admin/projects/${project.data.id}/apikeys`,
    {},
    adminHeaders,
  );
  return { projectId: project.data.id, key: key.data.apiKeyValue };
}

/** Registers `wanted` with `POST /api/instances/batch`; throws unless every one of them was created. */
export async function registerBatch(base: string, key: string, wanted: readonly object[]): Promise<SeededInstance[]> {
  const created = await call<{ id: string | number; businessId: string; apiIdentifier: string }[]>(
    base,
    '/api/instances/batch',
    { instances: wanted },
    { 'api-key': key },
  );
  if (created.data.length !== wanted.length) {
    throw new Error(`registered ${created.data.length} instances, expected ${wanted.length}`);
  }
  return created.data.map((i) => ({ id: String(i.id), businessId: i.businessId, apiIdentifier: i.apiIdentifier }));
}

export async function seed(base: string, options: SeedOptions): Promise<Fixture> {
  const admin = await adminLogin(base, options);
  const identifiers = Array.from({ length: options.identifiers }, (_, k) => `model-${k}`);
  const tenants: Tenant[] = [];
  for (let p = 0; p < options.projects; p++) {
    const project = await createProject(base, admin, `${options.projectPrefix ?? 'http-bench'}-${p}`);
    if (options.leaseTtlMs !== undefined) {
      const settings = { quotas: { leaseTtlMs: options.leaseTtlMs } };
      await call(base, '/api/projects/current/settings', settings, { 'api-key': project.key }, 'PATCH');
    }
    const wanted = identifiers.flatMap((apiIdentifier, k) =>
      Array.from({ length: options.instancesPerIdentifier }, (_, i) => ({
        apiIdentifier,
        apiType: API_TYPE,
        businessId: `inst-${k * options.instancesPerIdentifier + i}`,
        routingParams: { weight: 1 },
      })),
    );
    const instances = await registerBatch(base, project.key, wanted).catch((error: unknown) => {
      throw new Error(`project ${p}: ${error instanceof Error ? error.message : String(error)}`);
    });
    tenants.push({ ...project, instances });
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

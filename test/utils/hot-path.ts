import type { Test } from 'supertest';
import type { ApiType } from '../../src/registry/instance-record';
import { RegistryIndex } from '../../src/registry/registry-index';
import type { TestProject } from './fixtures';
import type { TestApp } from './test-app';

/**
 * The hot path over HTTP for e2e suites: registering instances, select-instance and
 * report-result with a project's key. The raw helpers return the supertest request, so a test
 * asserts the status and body itself; the others expect success and return typed data.
 */

/** A select-instance body: the two required fields, anything else as sent. */
export type SelectBody = { readonly apiIdentifier: string; readonly apiType: ApiType } & Readonly<
  Record<string, unknown>
>;

/** The fields of a select-instance answer tests read. */
export interface SelectedInstance {
  readonly id: string;
  readonly businessId: string;
  readonly apiIdentifier: string;
  readonly selectionId: string;
  readonly strategy: string;
  readonly tier: number;
  readonly degraded: boolean;
  readonly fallbackUsed: boolean;
  readonly fallbackFrom: string | null;
  readonly affinityBound: boolean;
}

/** One entry of `POST /api/instances/batch`. */
export interface InstanceBody {
  readonly apiIdentifier: string;
  readonly apiType: ApiType;
  readonly businessId: string;
  readonly routingParams?: Readonly<Record<string, unknown>>;
}

/** A MODEL instance body (`routingParams` left out when not given). */
export function modelInstance(
  businessId: string,
  apiIdentifier = 'model',
  routingParams?: Readonly<Record<string, unknown>>,
): InstanceBody {
  return { apiIdentifier, apiType: 'MODEL', businessId, ...(routingParams && { routingParams }) };
}

/** Registers `instances` in one batch (must succeed); returns businessId → instance id, in order. */
export async function registerInstances(
  gateway: TestApp,
  project: TestProject,
  instances: readonly InstanceBody[],
): Promise<Record<string, string>> {
  const res = await gateway
    .http()
    .post('/api/instances/batch')
    .set('api-key', project.apiKey)
    .send({ instances })
    .expect(200);
  const ids: Record<string, string> = {};
  for (const one of res.body.data as { id: string; businessId: string }[]) ids[one.businessId] = one.id;
  return ids;
}

/** POST /api/gateway/select-instance with any body (invalid ones too); the response is the caller's to assert. */
export function selectInstance(gateway: TestApp, project: TestProject, body: Readonly<Record<string, unknown>>): Test {
  return gateway.http().post('/api/gateway/select-instance').set('api-key', project.apiKey).send(body);
}

/** A select-instance that must succeed (200): the chosen instance. */
export async function selectedInstance(
  gateway: TestApp,
  project: TestProject,
  body: SelectBody,
): Promise<SelectedInstance> {
  return (await selectInstance(gateway, project, body).expect(200)).body.data as SelectedInstance;
}

/**
 * A report's body with its instance's own `businessId` when it names none (a report must name the
 * instance's: the gateway refuses another with 400). An instance the gateway does not know keeps none.
 */
export function withBusinessId(gateway: TestApp, body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (body.businessId !== undefined || typeof body.instanceId !== 'string') return { ...body };
  return { businessId: gateway.app.get(RegistryIndex).get(body.instanceId)?.businessId, ...body };
}

/**
 * POST /api/gateway/report-result with `body` (its businessId filled in when missing:
 * {@link withBusinessId}); the response is the caller's to assert.
 */
export function postReport(gateway: TestApp, project: TestProject, body: Readonly<Record<string, unknown>>): Test {
  return gateway
    .http()
    .post('/api/gateway/report-result')
    .set('api-key', project.apiKey)
    .send(withBusinessId(gateway, body));
}

/** POST /api/gateway/report-results (must succeed); businessIds filled in as {@link postReport} does. */
export function postReports(gateway: TestApp, project: TestProject, results: readonly Record<string, unknown>[]): Test {
  return gateway
    .http()
    .post('/api/gateway/report-results')
    .set('api-key', project.apiKey)
    .send({ results: results.map((result) => withBusinessId(gateway, result)) })
    .expect(200);
}

/**
 * A report-result that must succeed: success defaults filled in (the instance's `businessId`,
 * 120 ms, the fake clock's now), `body` overriding them.
 */
export function reportResult(
  gateway: TestApp,
  project: TestProject,
  instanceId: string,
  body: Readonly<Record<string, unknown>>,
): Test {
  return postReport(gateway, project, {
    instanceId,
    latencyMs: 120,
    callTimestamp: gateway.clock.now(),
    ...body,
  }).expect(200);
}

import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { TestProject } from '../utils/fixtures';

/** Two projects: every case acts with A's key on B's resources. */
export interface IsolationContext {
  readonly a: TestProject;
  readonly b: TestProject;
  /** An instance of B (MODEL, businessId `b-model`, apiIdentifier `shared-model`). */
  readonly bInstance: { readonly id: string; readonly businessId: string };
  readonly http: () => TestAgent;
  /** Reads B's state through B's own key, to prove A changed nothing. */
  readonly asB: (path: string) => Promise<Response>;
}

export interface IsolationCase {
  readonly name: string;
  /** Sends the request with A's key; returns its response. */
  readonly attempt: (ctx: IsolationContext) => Promise<Response>;
  /** Asserts the response is refused or scoped to A, and that B is untouched. */
  readonly verify: (res: Response, ctx: IsolationContext) => Promise<void> | void;
}

const withA = (ctx: IsolationContext, agent: ReturnType<TestAgent['get']>) => agent.set('api-key', ctx.a.apiKey);

/**
 * The isolation table. Later features add their routes here (instances, selects, reports…);
 * the suite runs every row on SQLite and MariaDB.
 */
export const ISOLATION_CASES: IsolationCase[] = [
  {
    name: 'GET /api/projects/current answers A, never B',
    attempt: (ctx) => withA(ctx, ctx.http().get('/api/projects/current')),
    verify: (res, ctx) => {
      expect(res.status).toBe(200);
      expect(res.body.data.id).toBe(ctx.a.id);
      expect(JSON.stringify(res.body)).not.toContain(ctx.b.id);
    },
  },
  {
    name: 'PATCH /api/projects/current/settings changes A only',
    attempt: (ctx) =>
      withA(ctx, ctx.http().patch('/api/projects/current/settings')).send({ defaultStrategy: 'least-busy' }),
    verify: async (res, ctx) => {
      expect(res.status).toBe(200);
      expect(res.body.data.id).toBe(ctx.a.id);
      expect((await ctx.asB('/api/projects/current')).body.data.settings).toEqual({});
    },
  },
  {
    name: 'a projectId of B in the query is ignored: the key decides',
    attempt: (ctx) => withA(ctx, ctx.http().get(`/api/projects/current?projectId=${ctx.b.id}`)),
    verify: (res, ctx) => {
      expect(res.status).toBe(200);
      expect(res.body.data.id).toBe(ctx.a.id);
    },
  },
  ...instanceCases(),
  ...gatewayCases(),
  ...adminRoutesRefusingProjectKeys(),
];

function gatewayCases(): IsolationCase[] {
  const report = (ctx: IsolationContext) => ({
    instanceId: ctx.bInstance.id,
    businessId: 'b-model',
    success: false,
    latencyMs: 10,
    callTimestamp: Date.now(),
  });
  return [
    {
      name: "select-instance with B's apiIdentifier never returns B's instance",
      attempt: (ctx) =>
        withA(ctx, ctx.http().post('/api/gateway/select-instance')).send({
          apiIdentifier: 'shared-model',
          apiType: 'MODEL',
        }),
      verify: (res, ctx) => {
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('NO_AVAILABLE_INSTANCE');
        expect(JSON.stringify(res.body)).not.toContain(ctx.bInstance.id);
      },
    },
    {
      name: "select-instance with B's businessId and explain picks and lists A's own instances only",
      attempt: async (ctx) => {
        // A has its own instance of that businessId (registering it again is a no-op), so the
        // case does not depend on the cases before it.
        await withA(ctx, ctx.http().post('/api/instances'))
          .send({ apiIdentifier: 'mine', apiType: 'MODEL', businessId: 'b-model' })
          .expect(200);
        return withA(ctx, ctx.http().post('/api/gateway/select-instance')).send({
          apiIdentifier: 'b-model',
          apiType: 'MODEL',
          explain: true,
          fallbackChain: ['shared-model'],
        });
      },
      verify: (res, ctx) => {
        expect(res.status).toBe(200);
        expect(res.body.data).toMatchObject({ businessId: 'b-model', projectId: ctx.a.id });
        expect(res.body.data.explain.candidates.length).toBeGreaterThan(0);
        expect(JSON.stringify(res.body)).not.toContain(ctx.bInstance.id);
        expect(JSON.stringify(res.body)).not.toContain(ctx.b.id);
      },
    },
    {
      name: "report-result on B's instance is 404",
      attempt: (ctx) => withA(ctx, ctx.http().post('/api/gateway/report-result')).send(report(ctx)),
      verify: (res) => {
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('INSTANCE_NOT_FOUND');
      },
    },
    {
      name: "report-results with one of B's instances is 404",
      attempt: (ctx) => withA(ctx, ctx.http().post('/api/gateway/report-results')).send({ results: [report(ctx)] }),
      verify: (res) => {
        expect(res.status).toBe(404);
      },
    },
    {
      name: "a 429 report on B's instance is refused and cools nothing down",
      attempt: (ctx) =>
        withA(ctx, ctx.http().post('/api/gateway/report-result')).send({
          ...report(ctx),
          success: false,
          statusCode: 429,
          retryAfterMs: 60_000,
        }),
      verify: async (res, ctx) => {
        expect(res.status).toBe(404);
        const health = await ctx.asB(`/api/instances/${ctx.bInstance.id}/health`);
        expect(health.body.data).toMatchObject({ selectable: true, quotas: { coolDownUntil: null } });
      },
    },
  ];
}

/** B's instance as B sees it, to prove it is untouched. */
async function bInstanceIntact(ctx: IsolationContext): Promise<void> {
  const res = await ctx.asB(`/api/instances/${ctx.bInstance.id}`);
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({
    businessId: 'b-model',
    apiIdentifier: 'shared-model',
    status: 'ACTIVE',
    userId: null,
  });
}

function instanceCases(): IsolationCase[] {
  const notFound = async (res: Response, ctx: IsolationContext): Promise<void> => {
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('INSTANCE_NOT_FOUND');
    await bInstanceIntact(ctx);
  };
  return [
    {
      name: "GET /api/instances/{B's id} is 404",
      attempt: (ctx) => withA(ctx, ctx.http().get(`/api/instances/${ctx.bInstance.id}`)),
      verify: notFound,
    },
    {
      name: "GET /api/instances/{B's id}/health is 404",
      attempt: (ctx) => withA(ctx, ctx.http().get(`/api/instances/${ctx.bInstance.id}/health`)),
      verify: notFound,
    },
    {
      name: "GET /api/instances lists none of B's",
      attempt: (ctx) => withA(ctx, ctx.http().get('/api/instances?size=200')),
      verify: (res, ctx) => {
        expect(res.status).toBe(200);
        expect(JSON.stringify(res.body)).not.toContain(ctx.bInstance.id);
        expect(JSON.stringify(res.body)).not.toContain(ctx.b.id);
      },
    },
    {
      name: "PUT /api/instances/MODEL/{B's businessId} is 404",
      attempt: (ctx) =>
        withA(ctx, ctx.http().put('/api/instances/MODEL/b-model')).send({
          apiIdentifier: 'hijacked',
          userId: 'mallory',
        }),
      verify: notFound,
    },
    ...(['activate', 'deactivate', 'deprecate'] as const).map((action): IsolationCase => ({
      name: `POST /api/instances/MODEL/{B's businessId}/${action} is 404`,
      attempt: (ctx) =>
        withA(ctx, ctx.http().post(`/api/instances/MODEL/b-model/${action}`)).set('content-type', 'application/json'),
      verify: notFound,
    })),
    {
      name: "DELETE /api/instances/MODEL/{B's businessId} deletes nothing of B",
      attempt: (ctx) => withA(ctx, ctx.http().delete('/api/instances/MODEL/b-model')),
      verify: async (res, ctx) => {
        expect(res.status).toBe(200);
        expect(res.body.data).toBe(0);
        await bInstanceIntact(ctx);
      },
    },
    {
      name: "DELETE /api/instances/batch with B's keys deletes nothing of B",
      attempt: (ctx) =>
        withA(ctx, ctx.http().delete('/api/instances/batch')).send({
          instances: [{ apiType: 'MODEL', businessId: 'b-model' }],
        }),
      verify: async (res, ctx) => {
        expect(res.body.data).toBe(0);
        await bInstanceIntact(ctx);
      },
    },
    {
      name: "POST /api/instances with B's businessId creates A's own instance",
      attempt: (ctx) =>
        withA(ctx, ctx.http().post('/api/instances')).send({
          apiIdentifier: 'mine',
          apiType: 'MODEL',
          businessId: 'b-model',
        }),
      verify: async (res, ctx) => {
        expect(res.status).toBe(200);
        expect(res.body.data.projectId).toBe(ctx.a.id);
        expect(res.body.data.id).not.toBe(ctx.bInstance.id);
        await bInstanceIntact(ctx);
      },
    },
  ];
}

/** Every admin route, aimed at B's resources with A's project key: 401 without reaching a handler. */
function adminRoutesRefusingProjectKeys(): IsolationCase[] {
  const routes: [string, (b: string) => string][] = [
    ['GET', () => '/api/admin/projects'],
    ['GET', (b) => `/api/admin/projects/${b}`],
    ['PUT', (b) => `/api/admin/projects/${b}`],
    ['PUT', (b) => `/api/admin/projects/${b}/status`],
    ['DELETE', (b) => `/api/admin/projects/${b}`],
    ['POST', (b) => `/api/admin/projects/${b}/apikeys`],
    ['GET', (b) => `/api/admin/apikeys?projectId=${b}`],
    ['POST', () => '/api/admin/apikeys'],
    ['GET', (b) => `/api/admin/instances?projectId=${b}`],
    ['GET', (b) => `/api/admin/instances/project/${b}`],
    ['POST', () => '/api/admin/instances'],
    ['POST', (b) => `/api/admin/instances/${b}/circuit`],
    ['GET', (b) => `/api/admin/instances/${b}/health`],
    ['GET', (b) => `/api/admin/breaker-events?projectId=${b}`],
  ];
  return routes.map(([method, path]) => ({
    name: `${method} ${path(':B')} with A's project key is 401`,
    attempt: (ctx) => {
      const agent = ctx.http();
      const url = path(ctx.b.id);
      const request =
        method === 'GET'
          ? agent.get(url)
          : method === 'PUT'
            ? agent.put(url)
            : method === 'POST'
              ? agent.post(url)
              : agent.delete(url);
      return request.set('api-key', ctx.a.apiKey).send({ status: 'INACTIVE', name: 'Hijacked' });
    },
    verify: async (res, ctx) => {
      expect(res.status).toBe(401);
      const b = await ctx.asB('/api/projects/current');
      expect(b.status).toBe(200);
      expect(b.body.data).toMatchObject({ id: ctx.b.id, status: 'ACTIVE' });
      expect(b.body.data.name).not.toBe('Hijacked');
    },
  }));
}

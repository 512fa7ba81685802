import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { TestProject } from '../utils/fixtures';

/** Two projects: every case acts with A's key on B's resources. */
export interface IsolationContext {
  readonly a: TestProject;
  readonly b: TestProject;
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
      expect(res.body.data?.id).not.toBe(ctx.b.id);
    },
  },
  ...adminRoutesRefusingProjectKeys(),
];

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

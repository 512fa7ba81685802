import { createProject } from '../../../../test/utils/fixtures';
import { type TestApp, createTestApp } from '../../../../test/utils/test-app';

/** The real gateway, in process, listening on a free port, with one project. */
export interface LiveGateway {
  readonly app: TestApp;
  readonly url: string;
  readonly apiKey: string;
  /** `GET /api/instances/{id}/health` of the project's instance. */
  health(id: string): Promise<InstanceHealth>;
  close(): Promise<void>;
}

/** The parts of an instance's health the specs read. */
export interface InstanceHealth {
  readonly selectable: boolean;
  readonly ttftMs: number | null;
  readonly breaker: { readonly state: string };
  readonly window: {
    readonly calls: number;
    readonly successes: number;
    readonly failures: number;
    readonly byOutcome: Record<string, number>;
    readonly promptTokens: number;
    readonly completionTokens: number;
    readonly totalTokens: number;
  };
}

export async function liveGateway(env: Record<string, string> = {}): Promise<LiveGateway> {
  const app = await createTestApp({ env });
  try {
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const url = (await app.app.getUrl()).replace('[::1]', '127.0.0.1');
    const project = await createProject(app, 'sdk');
    return {
      app,
      url,
      apiKey: project.apiKey,
      health: async (id) => {
        const res = await fetch(`${url}/api/instances/${id}/health`, { headers: { 'api-key': project.apiKey } });
        if (res.status !== 200) throw new Error(`health of ${id}: HTTP ${res.status} ${await res.text()}`);
        return ((await res.json()) as { data: InstanceHealth }).data;
      },
      close: () => app.close(),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

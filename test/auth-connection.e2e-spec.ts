import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProject, setKeyStatus } from './utils/fixtures';
import { createTestApp, type TestApp } from './utils/test-app';

interface Answer {
  readonly status: number;
  readonly body: { data?: { id?: string }; error?: string };
  readonly localPort: number;
}

/**
 * A keep-alive connection remembers the hash of the last key it sent (ADR 0008): different keys on
 * one connection must each be judged on their own, and a revoke must still apply at once.
 */
describe('API keys on one keep-alive connection', () => {
  let gateway: TestApp;
  let base: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    gateway = await createTestApp();
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    agent.destroy();
    await gateway.close();
  });

  const current = (key: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(`${base}/api/projects/current`, { agent, headers: { 'api-key': key } }, (res) => {
        // Read before the body ends: the agent then takes the socket back.
        const localPort = res.socket.localPort ?? 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), localPort }));
      });
      req.on('error', reject);
      req.end();
    });

  it('judges each key on its own and applies a revoke on the next request', async () => {
    const a = await createProject(gateway, 'Connection A');
    const b = await createProject(gateway, 'Connection B');
    const answers = [
      await current(a.apiKey),
      await current(`${a.apiKey}x`),
      await current(b.apiKey),
      await current(a.apiKey),
    ];
    expect(new Set(answers.map((answer) => answer.localPort)).size).toBe(1);
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 200, 200]);
    expect(answers[1].body.error).toBe('INVALID_API_KEY');
    expect([answers[0].body.data?.id, answers[2].body.data?.id, answers[3].body.data?.id]).toEqual([a.id, b.id, a.id]);

    // Revoked between two requests of the same connection: refused on the next one.
    await setKeyStatus(gateway, a, 'REVOKED');
    const revoked = await current(a.apiKey);
    expect([revoked.status, revoked.body.error, revoked.localPort]).toEqual([
      401,
      'API_KEY_REVOKED',
      answers[0].localPort,
    ]);
  });
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type LiveGateway, liveGateway } from '../../libs/sdk/src/testing/live-gateway';
import { type LocalServer, json, listen } from '../../libs/sdk/src/testing/servers';

const ROOT = join(__dirname, '..', '..');

/** Runs an example as a program (transpile-only ts-node, as its header says), with `env`. */
function runExample(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('libs/sdk/examples', file)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The project's instances by businessId, with their reported outcomes in the health window. */
async function windows(
  gateway: LiveGateway,
): Promise<Record<string, { calls: number; byOutcome: Record<string, number> }>> {
  const res = await fetch(`${gateway.url}/api/instances?page=1&size=200`, { headers: { 'api-key': gateway.apiKey } });
  const items = ((await res.json()) as { data: { items: { id: string; businessId: string }[] } }).data.items;
  const entries = await Promise.all(
    items.map(async (item) => [item.businessId, (await gateway.health(item.id)).window] as const),
  );
  return Object.fromEntries(entries);
}

describe('the SDK examples, run as programs against a live gateway', () => {
  let gateway: LiveGateway;
  const backends: LocalServer[] = [];

  beforeAll(async () => {
    gateway = await liveGateway();
  });
  afterAll(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await gateway.close();
  });

  async function backend(handler: Parameters<typeof listen>[0]): Promise<LocalServer> {
    const server = await listen(handler);
    backends.push(server);
    return server;
  }

  it('openai-chat.ts: the primary provider is down, the fallback answers', async () => {
    const primary = await backend((_request, res) =>
      json(res, 503, { error: { message: 'The engine is currently overloaded' } }),
    );
    const fallback = await backend((request, res) => {
      const body = JSON.parse(request.body) as { model: string; messages: { content: string }[] };
      json(res, 200, {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: body.model,
        choices: [
          { index: 0, message: { role: 'assistant', content: `Hello (${body.model})` }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 8, completion_tokens: 3, total_tokens: 11 },
      });
    });
    const run = await runExample('openai-chat.ts', {
      GATEWAY_URL: gateway.url,
      GATEWAY_API_KEY: gateway.apiKey,
      PRIMARY_URL: `${primary.url}/v1`,
      FALLBACK_URL: `${fallback.url}/v1`,
      FALLBACK_MODEL: 'local-model',
      FALLBACK_API_KEY: 'sk-fallback',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ servedBy: 'fallback', answer: 'Hello (local-model)', totalTokens: 11 });
    expect(primary.requests.map((r) => r.url)).toEqual(['/v1/chat/completions']);
    expect(fallback.requests[0].headers.authorization).toBe('Bearer sk-fallback');
    // close() delivered both reports before the program exited.
    const seen = await windows(gateway);
    expect(seen.primary).toMatchObject({ calls: 1, byOutcome: { SERVER_ERROR: 1 } });
    expect(seen.fallback).toMatchObject({ calls: 1, byOutcome: { SUCCESS: 1 } });
  });

  it('sms.ts: a provider that fails in its body is retried on the other one', async () => {
    const a = await backend((_request, res) => json(res, 200, { status: 'failed', error: 'carrier unavailable' }));
    const b = await backend((_request, res) => json(res, 200, { status: 'queued', messageId: 'msg-1' }));
    const env = { GATEWAY_URL: gateway.url, GATEWAY_API_KEY: gateway.apiKey, SMS_A_URL: a.url, SMS_B_URL: b.url };
    for (const to of ['+15550101', '+15550102', '+15550103']) {
      const run = await runExample('sms.ts', { ...env, SMS_TO: to });
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toEqual({ provider: 'sms-b', messageId: 'msg-1' });
    }
    expect(b.requests).toHaveLength(3);
    const seen = await windows(gateway);
    // Every attempt reported once: what each provider received is what the gateway counted.
    expect(seen['sms-a']).toMatchObject({ calls: a.requests.length, byOutcome: { SERVER_ERROR: a.requests.length } });
    expect(seen['sms-b']).toMatchObject({ calls: 3, byOutcome: { SUCCESS: 3 } });
  });

  it('sms.ts: a provider that timed out may have sent the message: the other one is not asked', async () => {
    // Both take the message and never answer: whichever is chosen, the message must go out once at most.
    const [a, b] = [await backend(() => undefined), await backend(() => undefined)];
    const run = await runExample('sms.ts', {
      GATEWAY_URL: gateway.url,
      GATEWAY_API_KEY: gateway.apiKey,
      SMS_A_URL: a.url,
      SMS_B_URL: b.url,
      SMS_TO: '+15550199',
      SMS_TIMEOUT_MS: '300',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('TIMEOUT');
    expect(a.requests.length + b.requests.length).toBe(1);
  });
});

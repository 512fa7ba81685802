import { Logger } from '@nestjs/common';
import { FakeClock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import type { AlertEvent } from './alert-event';
import { WebhookDispatcher, type WebhookRequest } from './webhook-dispatcher';
import { verifyWebhookSignature } from './webhook-signature';
import type { WebhookEntity, WebhookEvent } from './webhook.entity';
import type { DeliveryResult, WebhooksService } from './webhooks.service';

const T0 = Date.UTC(2026, 0, 1, 12);
const PROJECT = 'a'.repeat(32);
const SECRET = `whsec_${'1'.repeat(64)}`;

function webhook(id: string, overrides: Partial<WebhookEntity> = {}): WebhookEntity {
  return {
    id,
    url: `https://hooks.example.com/${id}`,
    projectId: null,
    events: ['breaker.transition', 'quota.exhausted', 'write-behind.failed'],
    format: 'json',
    enabled: true,
    secret: SECRET,
    secretPrefix: SECRET.slice(0, 12),
    lastDeliveryAt: null,
    lastDeliveryStatus: null,
    lastDeliveryOk: null,
    lastDeliveryError: null,
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
    ...overrides,
  };
}

/** The webhooks in memory, as WebhooksService keeps them, and the deliveries it records. */
class FakeWebhooks implements Pick<WebhooksService, 'matching' | 'recordDelivery'> {
  hooks: WebhookEntity[] = [webhook('w1')];
  readonly recorded: [string, DeliveryResult][] = [];

  matching(subscription: WebhookEvent, projectId: string | null): WebhookEntity[] {
    return this.hooks.filter(
      (hook) => hook.events.includes(subscription) && (hook.projectId === null || hook.projectId === projectId),
    );
  }

  recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    this.recorded.push([id, result]);
    return Promise.resolve();
  }
}

describe('WebhookDispatcher', () => {
  let clock: FakeClock;
  let hooks: FakeWebhooks;
  let sent: WebhookRequest[];
  /** What the next attempts get: a status, or an Error for no answer; then 200. */
  let answers: (number | Error)[];
  let warn: jest.SpyInstance;

  const create = (env: Record<string, string> = {}, random = () => 0.5) =>
    new WebhookDispatcher(
      hooks as unknown as WebhooksService,
      clock,
      loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', ...env }),
      {
        random,
        transport: (request) => {
          sent.push(request);
          const answer = answers.shift() ?? 200;
          return answer instanceof Error ? Promise.reject(answer) : Promise.resolve({ status: answer });
        },
      },
    );
  let seq = 0;
  const event = (overrides: Partial<AlertEvent> = {}): AlertEvent => ({
    id: (++seq).toString(16).padStart(32, '0'),
    type: 'breaker.transition',
    projectId: PROJECT,
    occurredAt: clock.now(),
    node: 'node-1',
    data: { instanceId: 'b'.repeat(32), businessId: 'gpt', from: 'CLOSED', to: 'OPEN', reason: 'r', actor: 'system' },
    ...overrides,
  });

  beforeEach(() => {
    clock = new FakeClock(T0);
    hooks = new FakeWebhooks();
    sent = [];
    answers = [];
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('only queues on enqueue; a round sends one signed POST per matching webhook', async () => {
    hooks.hooks = [
      webhook('w1'),
      webhook('w2', { projectId: PROJECT }),
      webhook('w3', { projectId: 'c'.repeat(32) }),
      webhook('w4', { events: ['quota.exhausted'] }),
    ];
    const dispatcher = create();
    const alert = event();
    dispatcher.enqueue(alert);
    expect(sent).toEqual([]);
    await dispatcher.pump();
    expect(sent.map((request) => request.url)).toEqual([
      'https://hooks.example.com/w1',
      'https://hooks.example.com/w2',
    ]);
    const [first] = sent;
    expect(first.timeoutMs).toBe(5000);
    expect(first.headers).toMatchObject({
      'content-type': 'application/json',
      'x-gateway-event': 'breaker.transition',
      'x-gateway-timestamp': String(T0 / 1000),
    });
    expect(verifyWebhookSignature(SECRET, String(T0 / 1000), first.body, first.headers['x-gateway-signature'])).toBe(
      true,
    );
    expect(JSON.parse(first.body)).toEqual({
      id: alert.id,
      type: 'breaker.transition',
      occurredAt: new Date(T0).toISOString(),
      node: 'node-1',
      projectId: PROJECT,
      data: alert.data,
    });
    expect(sent[1].headers['x-gateway-delivery']).not.toBe(first.headers['x-gateway-delivery']);
    expect(dispatcher.stats).toMatchObject({ delivered: 2, queued: 0, waiting: 0 });
  });

  it('sends the node’s own alerts (no project) to global webhooks only; write-behind.recovered under write-behind.failed', async () => {
    hooks.hooks = [webhook('global'), webhook('project', { projectId: PROJECT })];
    const dispatcher = create();
    dispatcher.enqueue(event({ type: 'write-behind.failed', projectId: null, data: { log: 'minute-metrics' } }));
    dispatcher.enqueue(event({ type: 'write-behind.recovered', projectId: null, data: { log: 'minute-metrics' } }));
    await dispatcher.pump();
    expect(sent.map((request) => [request.url, request.headers['x-gateway-event']])).toEqual([
      ['https://hooks.example.com/global', 'write-behind.failed'],
      ['https://hooks.example.com/global', 'write-behind.recovered'],
    ]);
  });

  it('retries a failed delivery after an exponential backoff with jitter, driven by the clock, with the same delivery id', async () => {
    const dispatcher = create();
    answers = [500, new Error('connect ECONNREFUSED'), 503];
    dispatcher.enqueue(event());
    await dispatcher.pump();
    expect(sent).toHaveLength(1);
    // random 0.5: half the ceiling plus a quarter of it — 750 ms, then 1500, then 3000.
    for (const wait of [750, 1500, 3000]) {
      clock.advance(wait - 1);
      await dispatcher.pump();
      expect(sent).toHaveLength([750, 1500, 3000].indexOf(wait) + 1);
      clock.advance(1);
      await dispatcher.pump();
    }
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((request) => request.headers['x-gateway-delivery'])).size).toBe(1);
    expect(sent.map((request) => request.headers['x-gateway-timestamp'])).toEqual(
      [T0, T0 + 750, T0 + 2250, T0 + 5250].map((at) => String(Math.floor(at / 1000))),
    );
    expect(hooks.recorded.map(([, result]) => [result.status, result.ok, result.error])).toEqual([
      [500, false, 'HTTP 500'],
      [null, false, 'connect ECONNREFUSED'],
      [503, false, 'HTTP 503'],
      [200, true, undefined],
    ]);
    expect(dispatcher.stats).toMatchObject({ delivered: 1, failed: 0, waiting: 0 });
  });

  it('gives up after GATEWAY_WEBHOOK_MAX_ATTEMPTS with one warning that names the webhook, never its URL', async () => {
    const dispatcher = create({ GATEWAY_WEBHOOK_MAX_ATTEMPTS: '3' });
    answers = [500, 500, 500, 500];
    dispatcher.enqueue(event());
    for (let i = 0; i < 10; i++) {
      await dispatcher.pump();
      clock.advance(60_000);
    }
    expect(sent).toHaveLength(3);
    expect(dispatcher.stats).toMatchObject({ delivered: 0, failed: 1, waiting: 0 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls[0])).not.toContain('hooks.example.com');
    expect(warn.mock.calls[0][1]).toMatch(/^Webhook w1: breaker.transition not delivered after 3 attempts/);
  });

  it('bounds the backoff: between half and all of base × 2^(n-1), at most 60 s', () => {
    expect([1, 2, 3].map((n) => create({}, () => 0).backoff(n))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((n) => create({}, () => 0.999_999).backoff(n))).toEqual([1000, 2000, 4000]);
    expect(create({}, () => 0.999_999).backoff(12)).toBe(60_000);
  });

  it('drops the oldest alerts beyond GATEWAY_WEBHOOK_QUEUE_SIZE, counts them and warns once', async () => {
    const dispatcher = create({ GATEWAY_WEBHOOK_QUEUE_SIZE: '10' });
    const alerts = Array.from({ length: 15 }, () => event());
    for (const alert of alerts) dispatcher.enqueue(alert);
    expect(dispatcher.stats).toMatchObject({ queued: 10, dropped: 5 });
    expect(warn).not.toHaveBeenCalled();
    await dispatcher.pump();
    await dispatcher.pump();
    await dispatcher.pump();
    expect(sent.map((request) => (JSON.parse(request.body) as { id: string }).id)).toEqual(
      alerts.slice(5).map((alert) => alert.id),
    );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toEqual({ dropped: 5, capacity: 10 });
  });

  it('keeps at most 4 attempts in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const dispatcher = new WebhookDispatcher(
      hooks as unknown as WebhooksService,
      clock,
      loadConfig({ GATEWAY_SQLITE_PATH: ':memory:' }),
      {
        transport: async (request) => {
          sent.push(request);
          await gate;
          return { status: 204 };
        },
      },
    );
    for (let i = 0; i < 6; i++) dispatcher.enqueue(event());
    const round = dispatcher.pump();
    expect(dispatcher.stats).toMatchObject({ inFlight: 4, waiting: 2 });
    release();
    await round;
    await dispatcher.pump();
    expect(sent).toHaveLength(6);
    expect(dispatcher.stats).toMatchObject({ delivered: 6, inFlight: 0 });
  });

  it('sends the slack format as { text, blocks }', async () => {
    hooks.hooks = [webhook('slack', { format: 'slack' })];
    const dispatcher = create();
    dispatcher.enqueue(
      event({
        type: 'quota.exhausted',
        data: { instanceId: 'b'.repeat(32), businessId: 'gpt<4>', limit: 'rpm', value: 100 },
      }),
    );
    await dispatcher.pump();
    const body = JSON.parse(sent[0].body) as { text: string; blocks: unknown[] };
    expect(body.text).toBe(
      `:hourglass: *Quota exhausted*: \`gpt&lt;4&gt;\` (instance ${'b'.repeat(32)}, project ${PROJECT}) reached its rpmLimit of 100 per minute`,
    );
    expect(body.blocks).toHaveLength(2);
  });
});

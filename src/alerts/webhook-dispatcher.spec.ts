import { Logger } from '@nestjs/common';
import { eventually } from '../../test/utils/eventually';
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
class FakeWebhooks implements Pick<WebhooksService, 'matching' | 'enabledWebhook' | 'recordDelivery'> {
  hooks: WebhookEntity[] = [webhook('w1')];
  readonly recorded: [string, DeliveryResult][] = [];

  enabledWebhook(id: string): WebhookEntity | undefined {
    return this.hooks.find((hook) => hook.id === id && hook.enabled);
  }

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

  /** Until `then` holds (real time: shutdown tests wait on real timers), at most 2 s. */
  const until = (then: () => boolean) =>
    eventually(() => expect(then()).toBe(true), { timeoutMs: 2000, intervalMs: 5 });

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

  describe('retries read the webhook as it is now', () => {
    const ROTATED = `whsec_${'2'.repeat(64)}`;

    it('signs a retry after a secret rotation with the new secret only, at the new URL', async () => {
      const dispatcher = create();
      answers = [500];
      dispatcher.enqueue(event());
      await dispatcher.pump();
      expect(sent).toHaveLength(1);
      hooks.hooks = [webhook('w1', { secret: ROTATED, url: 'https://hooks.example.com/moved' })];
      clock.advance(1000);
      await dispatcher.pump();
      expect(sent).toHaveLength(2);
      const [first, retry] = sent;
      const verify = (secret: string, request: WebhookRequest) =>
        verifyWebhookSignature(
          secret,
          request.headers['x-gateway-timestamp'],
          request.body,
          request.headers['x-gateway-signature'],
        );
      expect(verify(SECRET, first)).toBe(true);
      expect(verify(ROTATED, retry)).toBe(true);
      expect(verify(SECRET, retry)).toBe(false);
      expect(retry.url).toBe('https://hooks.example.com/moved');
      expect(retry.headers['x-gateway-delivery']).toBe(first.headers['x-gateway-delivery']);
      expect(retry.body).toBe(first.body);
    });

    it('drops the delivery, counted, when its webhook is deleted between attempts', async () => {
      const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
      const dispatcher = create();
      answers = [500, 500, 500];
      dispatcher.enqueue(event());
      await dispatcher.pump();
      hooks.hooks = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(60_000);
        await dispatcher.pump();
      }
      expect(sent).toHaveLength(1);
      expect(dispatcher.stats).toMatchObject({ waiting: 0, discarded: 1, failed: 0, delivered: 0 });
      expect(debug).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(debug.mock.calls[0])).not.toContain('hooks.example.com');
    });

    it('drops the delivery when its webhook is disabled between attempts', async () => {
      jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
      const dispatcher = create();
      answers = [500];
      dispatcher.enqueue(event());
      await dispatcher.pump();
      hooks.hooks = [webhook('w1', { enabled: false })];
      clock.advance(60_000);
      await dispatcher.pump();
      expect(sent).toHaveLength(1);
      expect(dispatcher.stats).toMatchObject({ waiting: 0, discarded: 1 });
    });
  });

  describe('shutdown', () => {
    /** A receiver that never answers: the attempt ends only when its signal aborts (as fetch does). */
    const hanging = (request: WebhookRequest) => {
      sent.push(request);
      return new Promise<{ status: number }>((_resolve, reject) =>
        request.signal.addEventListener('abort', () => reject(request.signal.reason as Error)),
      );
    };

    it('aborts the attempts in flight instead of waiting out GATEWAY_WEBHOOK_TIMEOUT_MS', async () => {
      const dispatcher = new WebhookDispatcher(
        hooks as unknown as WebhooksService,
        clock,
        loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', GATEWAY_WEBHOOK_TIMEOUT_MS: '60000' }),
        { transport: hanging },
      );
      dispatcher.onApplicationBootstrap();
      dispatcher.enqueue(event());
      await until(() => sent.length === 1);
      const started = Date.now();
      await dispatcher.onApplicationShutdown();
      expect(Date.now() - started).toBeLessThan(500);
      expect(sent[0].signal.aborted).toBe(true);
      expect(dispatcher.stats).toMatchObject({ inFlight: 0, waiting: 0 });
      expect(hooks.recorded).toEqual([]); // an attempt cut short by the shutdown is neither recorded nor retried
    }, 5000);

    it('waits about a second at most for a transport that ignores the abort', async () => {
      const dispatcher = new WebhookDispatcher(
        hooks as unknown as WebhooksService,
        clock,
        loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', GATEWAY_WEBHOOK_TIMEOUT_MS: '60000' }),
        {
          transport: (request) => {
            sent.push(request);
            return new Promise(() => undefined);
          },
        },
      );
      dispatcher.onApplicationBootstrap();
      dispatcher.enqueue(event());
      await until(() => sent.length === 1);
      const started = Date.now();
      await dispatcher.onApplicationShutdown();
      expect(Date.now() - started).toBeLessThan(1500);
    }, 5000);
  });

  describe('a large backlog', () => {
    it('refuses GATEWAY_WEBHOOK_QUEUE_SIZE above 100,000', () => {
      expect(() => loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', GATEWAY_WEBHOOK_QUEUE_SIZE: '100001' })).toThrow(
        /GATEWAY_WEBHOOK_QUEUE_SIZE/,
      );
      expect(
        loadConfig({ GATEWAY_SQLITE_PATH: ':memory:', GATEWAY_WEBHOOK_QUEUE_SIZE: '100000' }).alerts.queueSize,
      ).toBe(100_000);
    });

    it('finds the next due delivery among 200,000 waiting without throwing, soonest first', async () => {
      const config = loadConfig({ GATEWAY_SQLITE_PATH: ':memory:' });
      const dispatcher = new WebhookDispatcher(
        hooks as unknown as WebhooksService,
        clock,
        { ...config, alerts: { ...config.alerts, queueSize: 200_001 } },
        {
          concurrency: 1,
          transport: (request) => {
            sent.push(request);
            return Promise.resolve({ status: 200 });
          },
        },
      );
      const alerts = Array.from({ length: 200_001 }, () => event());
      for (const alert of alerts) dispatcher.enqueue(alert);
      await dispatcher.pump(); // one attempt (the concurrency), the other 200,000 wait
      expect(dispatcher.stats).toMatchObject({ waiting: 200_000, inFlight: 0, delivered: 1 });
      // None due yet (as when they all wait for a retry): the worker arms its timer for the soonest.
      clock.set(T0 - 1000);
      dispatcher.onApplicationBootstrap();
      try {
        expect(() => void dispatcher.pump()).not.toThrow();
        clock.set(T0);
        await dispatcher.pump();
        await dispatcher.pump();
        // The worker's own rounds may have sent more meanwhile; always the oldest first.
        const ids = sent.map((request) => (JSON.parse(request.body) as { id: string }).id);
        expect(ids.length).toBeGreaterThanOrEqual(3);
        expect(ids).toEqual(alerts.slice(0, ids.length).map((alert) => alert.id));
      } finally {
        await dispatcher.onApplicationShutdown();
      }
    });
  });
});

import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakerEventLog } from '../src/circuit-breaker/breaker-event-log';
import { BreakerService } from '../src/circuit-breaker/breaker.service';
import { RegistryIndex } from '../src/registry/registry-index';
import { WebhookDispatcher } from '../src/alerts/webhook-dispatcher';
import { adminToken, createProject, type TestProject, viewerToken } from './utils/fixtures';
import { eventually } from './utils/eventually';
import { modelInstance, registerInstances, reportResult, selectInstance } from './utils/hot-path';
import { TEST_ADMIN, createTestApp, type TestApp } from './utils/test-app';
import { describeEachDatabase, sqliteDatabase } from './utils/test-database';

/** One POST the receiver got. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** A local HTTP receiver (a real server on a free port) answering with the statuses it is told, then 200. */
class Receiver {
  readonly requests: Received[] = [];
  /** The statuses of the next answers, in order; 200 once they are used up. */
  statuses: number[] = [];
  private server?: Server;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        response.statusCode = this.statuses.shift() ?? 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks/gateway`;
  }

  ofEvent(type: string): Received[] {
    return this.requests.filter((request) => request.headers['x-gateway-event'] === type);
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** What a receiver does: HMAC-SHA256 of `<timestamp>.<raw body>` with the secret, compared in constant time. */
function verifies(secret: string, request: Received): boolean {
  const timestamp = String(request.headers['x-gateway-timestamp']);
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`,
  );
  const given = Buffer.from(String(request.headers['x-gateway-signature']));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const failure = { success: false, errorMessage: 'Request failed with status code 503' };

/**
 * Alerts over real HTTP (docs/alerts.md): webhooks configured through the admin API, a breaker
 * tripped by reports, the signed delivery at a local receiver, its retry after a 500. The app's
 * clock is fake: the test moves it past the backoff; the receiver is polled with deadlines.
 */
describeEachDatabase('alerts: webhooks', (database) => {
  let gateway: TestApp;
  let admin: string;
  let viewer: string;
  let seq = 0;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    gateway = await createTestApp({ database });
    admin = await adminToken(gateway);
    viewer = await viewerToken(gateway);
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all(receivers.map((receiver) => receiver.stop()));
  });

  async function receiver(): Promise<Receiver> {
    const started = new Receiver();
    await started.start();
    receivers.push(started);
    return started;
  }

  const api = {
    create: (body: Record<string, unknown>) =>
      gateway.http().post('/api/admin/webhooks').set('authorization', `Bearer ${admin}`).send(body),
    get: (id: string, token = admin) =>
      gateway.http().get(`/api/admin/webhooks/${id}`).set('authorization', `Bearer ${token}`),
    list: (token = admin) => gateway.http().get('/api/admin/webhooks?size=100').set('authorization', `Bearer ${token}`),
    patch: (id: string, body: Record<string, unknown>) =>
      gateway.http().patch(`/api/admin/webhooks/${id}`).set('authorization', `Bearer ${admin}`).send(body),
  };

  async function scenario(instances: Record<string, Record<string, unknown>> = { a: {} }) {
    const project = await createProject(gateway, `Alerts ${++seq}`);
    const ids = await registerInstances(
      gateway,
      project,
      Object.entries(instances).map(([businessId, params]) => modelInstance(businessId, 'model', params)),
    );
    return { project, ids };
  }

  const trip = async (project: TestProject, instanceId: string) => {
    for (let i = 0; i < 5; i++) await reportResult(gateway, project, instanceId, failure);
  };

  /** `gateway_webhook_deliveries_total{result}` on /metrics. */
  const deliveries = async (result: string): Promise<number> => {
    const text = (await gateway.http().get('/metrics').set('authorization', `Bearer ${admin}`).expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(`gateway_webhook_deliveries_total{result="${result}"}`));
    return Number(line?.split(' ').at(-1) ?? NaN);
  };

  it('delivers a signed breaker-open event within 2 s of the tripping report, retries after a 500, and records the last delivery', async () => {
    const deliveredBefore = await deliveries('delivered');
    const failedBefore = await deliveries('failed');
    const { project, ids } = await scenario();
    const other = await scenario();
    const hooks = await receiver();
    const elsewhere = await receiver();
    hooks.statuses = [500];
    const created = await api
      .create({ url: hooks.url, projectId: project.id, events: ['breaker.transition'] })
      .expect(200);
    const webhook = created.body.data as { id: string; secret: string; secretPrefix: string; lastDelivery: unknown };
    expect(webhook).toMatchObject({
      url: hooks.url,
      projectId: project.id,
      events: ['breaker.transition'],
      format: 'json',
      enabled: true,
      lastDelivery: null,
    });
    expect(webhook.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(webhook.secret.startsWith(webhook.secretPrefix)).toBe(true);
    await api.create({ url: elsewhere.url, projectId: other.project.id, events: ['breaker.transition'] }).expect(200);

    for (let i = 0; i < 4; i++) await reportResult(gateway, project, ids.a, failure);
    expect(hooks.requests).toHaveLength(0);
    const tripped = Date.now();
    await reportResult(gateway, project, ids.a, failure);

    const [first] = await eventually(
      () => {
        expect(hooks.requests).toHaveLength(1);
        return hooks.requests;
      },
      { timeoutMs: 2000, what: 'the receiver got the breaker-open event' },
    );
    expect(first.at - tripped).toBeLessThan(2000);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['x-gateway-event']).toBe('breaker.transition');
    expect(first.headers['x-gateway-delivery']).toMatch(/^[0-9a-f]{32}$/);
    expect(first.headers['x-gateway-timestamp']).toBe(String(Math.floor(gateway.clock.now() / 1000)));
    expect(verifies(webhook.secret, first)).toBe(true);
    expect(verifies(`${webhook.secret}x`, first)).toBe(false);
    expect(JSON.parse(first.body)).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      type: 'breaker.transition',
      occurredAt: new Date(gateway.clock.now()).toISOString(),
      node: gateway.config.nodeId,
      projectId: project.id,
      data: {
        instanceId: ids.a,
        businessId: 'a',
        apiIdentifier: 'model',
        from: 'CLOSED',
        to: 'OPEN',
        reason: '5 consecutive SERVER_ERROR',
        actor: 'system',
      },
    });
    await eventually(
      async () =>
        expect((await api.get(webhook.id).expect(200)).body.data.lastDelivery).toMatchObject({
          status: 500,
          ok: false,
          error: 'HTTP 500',
        }),
      { timeoutMs: 2000, what: 'the failed attempt is recorded' },
    );

    gateway.clock.advance(1000); // the longest backoff after a first attempt (1 s, jittered down to 0.5 s)
    const second = await eventually(
      () => {
        expect(hooks.requests).toHaveLength(2);
        return hooks.requests[1];
      },
      { timeoutMs: 2000, what: 'the delivery is retried' },
    );
    expect(second.at - tripped).toBeLessThan(2000);
    expect(second.headers['x-gateway-delivery']).toBe(first.headers['x-gateway-delivery']);
    expect(second.body).toBe(first.body);
    expect(verifies(webhook.secret, second)).toBe(true);
    await eventually(
      async () => {
        const shown = (await api.get(webhook.id).expect(200)).body.data as Record<string, unknown>;
        expect(shown.lastDelivery).toEqual({ at: new Date(gateway.clock.now()).toISOString(), status: 200, ok: true });
        expect(shown).not.toHaveProperty('secret');
        expect(shown.secretPrefix).toBe(webhook.secretPrefix);
      },
      { timeoutMs: 2000, what: 'the successful retry is recorded' },
    );
    expect(hooks.requests).toHaveLength(2);
    expect(elsewhere.requests).toHaveLength(0); // another project's webhook
    // On /metrics: one delivery made (its first attempt's 500 was retried, not given up).
    expect(await deliveries('delivered')).toBe(deliveredBefore + 1);
    expect(await deliveries('failed')).toBe(failedBefore);
  });

  it('sends a global slack-format webhook { text, blocks }, and answers a test delivery', async () => {
    const { project, ids } = await scenario();
    const slack = await receiver();
    const created = await api.create({ url: slack.url, events: ['breaker.transition'], format: 'slack' }).expect(200);
    expect(created.body.data).toMatchObject({ projectId: null, format: 'slack' });

    await trip(project, ids.a);
    const [message] = await eventually(
      () => {
        const opened = slack.ofEvent('breaker.transition').filter((one) => one.body.includes(ids.a));
        expect(opened).toHaveLength(1);
        return opened;
      },
      { timeoutMs: 2000, what: 'the slack receiver got the breaker-open event' },
    );
    const body = JSON.parse(message.body) as { text: string; blocks: { type: string }[] };
    expect(body.text).toBe(
      `:rotating_light: *Breaker OPEN* for \`a\` (instance ${ids.a}, project ${project.id}): CLOSED → OPEN, 5 consecutive SERVER_ERROR (by system)`,
    );
    expect(body.blocks.map((block) => block.type)).toEqual(['section', 'context']);
    expect(verifies(created.body.data.secret as string, message)).toBe(true);

    const tested = await gateway
      .http()
      .post(`/api/admin/webhooks/${created.body.data.id as string}/test`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(tested.body.data).toEqual({ at: new Date(gateway.clock.now()).toISOString(), status: 200, ok: true });
    expect(JSON.parse(slack.ofEvent('webhook.test')[0].body)).toMatchObject({ text: expect.stringContaining('Test') });
  });

  it("names the operator behind a FORCED_OPEN in the alert and in the breaker-events log; AUTO's recovery is alerted too", async () => {
    const { project, ids } = await scenario();
    const hooks = await receiver();
    await api.create({ url: hooks.url, projectId: project.id, events: ['breaker.transition'] }).expect(200);
    // Through the operators' endpoint: the signed-in admin is the actor.
    await gateway
      .http()
      .post(`/api/admin/instances/${ids.a}/circuit`)
      .set('authorization', `Bearer ${admin}`)
      .send({ state: 'FORCED_OPEN' })
      .expect(200);
    const instance = gateway.app.get(RegistryIndex).get(ids.a)!;
    gateway.app.get(BreakerService).setOperatorState(instance, 'AUTO', gateway.clock.now(), 'admin:bob');
    const received = await eventually(
      () => {
        expect(hooks.requests).toHaveLength(2);
        return hooks.requests.map((request) => (JSON.parse(request.body) as { data: Record<string, unknown> }).data);
      },
      { timeoutMs: 2000, what: 'both operator transitions arrived' },
    );
    expect(received.map(({ from, to, actor }) => `${String(from)}→${String(to)} by ${String(actor)}`).sort()).toEqual([
      `CLOSED→FORCED_OPEN by admin:${TEST_ADMIN.username}`,
      'FORCED_OPEN→CLOSED by admin:bob',
    ]);
    await gateway.app.get(BreakerEventLog).flush();
    const events = await gateway
      .http()
      .get(`/api/admin/breaker-events?instanceId=${ids.a}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(
      (events.body.data.items as { to: string; reason: string; actor: string }[]).map(
        (event) => `${event.to} ${event.reason} by ${event.actor}`,
      ),
    ).toEqual([
      'CLOSED operator: AUTO by admin:bob',
      `FORCED_OPEN operator: FORCED_OPEN by admin:${TEST_ADMIN.username}`,
    ]);
  });

  it('alerts an exhausted rpmLimit once per instance and minute, not per refused select', async () => {
    const { project, ids } = await scenario({ capped: { rpmLimit: 2 } });
    const hooks = await receiver();
    await api.create({ url: hooks.url, projectId: project.id, events: ['quota.exhausted'] }).expect(200);
    const select = () => selectInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL' });
    await select().expect(200);
    await select().expect(200);
    for (let i = 0; i < 5; i++) expect((await select()).status).toBeGreaterThanOrEqual(400);
    const [alert] = await eventually(
      () => {
        expect(hooks.ofEvent('quota.exhausted')).toHaveLength(1);
        return hooks.requests;
      },
      { timeoutMs: 2000, what: 'the quota alert arrived' },
    );
    expect(JSON.parse(alert.body)).toMatchObject({
      type: 'quota.exhausted',
      projectId: project.id,
      data: { instanceId: ids.capped, businessId: 'capped', limit: 'rpm', value: 2, windowSeconds: 60 },
    });
    gateway.clock.advance(30_000);
    for (let i = 0; i < 3; i++) await select();
    gateway.clock.advance(30_000); // a new window: the limit is alerted again when reached again
    await select().expect(200);
    await select().expect(200);
    await select();
    await eventually(() => expect(hooks.ofEvent('quota.exhausted')).toHaveLength(2), {
      timeoutMs: 2000,
      what: 'the next window alerts again',
    });
  });

  describe('the admin API', () => {
    const fieldsOf = (body: { details?: { field: string }[] }) => (body.details ?? []).map((detail) => detail.field);

    it.each([
      ['a URL that is not http(s)', { url: 'ftp://example.com/hook', events: ['breaker.transition'] }, ['url']],
      ['no URL', { events: ['breaker.transition'] }, ['url']],
      ['a URL without a scheme', { url: 'example.com/hook', events: ['breaker.transition'] }, ['url']],
      ['no events', { url: 'https://example.com/hook', events: [] }, ['events']],
      ['an unknown event', { url: 'https://example.com/hook', events: ['breaker.opened'] }, ['events']],
      [
        'a repeated event',
        { url: 'https://example.com/hook', events: ['quota.exhausted', 'quota.exhausted'] },
        ['events'],
      ],
      ['a bad format', { url: 'https://example.com/hook', events: ['quota.exhausted'], format: 'xml' }, ['format']],
      [
        'a malformed projectId',
        { url: 'https://example.com/hook', events: ['quota.exhausted'], projectId: 'x' },
        ['projectId'],
      ],
      [
        'an unknown property',
        { url: 'https://example.com/hook', events: ['quota.exhausted'], secret: 'mine' },
        ['secret'],
      ],
    ])('refuses %s with 400 naming the field', async (_what, body, fields) => {
      const res = await api.create(body).expect(400);
      expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED' });
      expect(fieldsOf(res.body)).toEqual(fields);
    });

    it('refuses a project that does not exist, naming projectId, on create and on edit', async () => {
      const missing = 'f'.repeat(32);
      const res = await api
        .create({ url: 'https://example.com/hook', events: ['quota.exhausted'], projectId: missing })
        .expect(400);
      expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED', message: `project ${missing} does not exist` });
      expect(fieldsOf(res.body)).toEqual(['projectId']);
      const created = await api.create({ url: 'https://example.com/hook', events: ['quota.exhausted'] }).expect(200);
      const edit = await api.patch(created.body.data.id as string, { projectId: missing }).expect(400);
      expect(fieldsOf(edit.body)).toEqual(['projectId']);
    });

    it('edits, rotates the secret, lists, deletes, and answers 404 for an unknown webhook', async () => {
      const { project } = await scenario();
      const created = (await api.create({ url: 'https://example.com/a', events: ['quota.exhausted'] }).expect(200)).body
        .data as { id: string; secret: string; secretPrefix: string };
      const edited = await api
        .patch(created.id, {
          url: 'https://example.com/b',
          projectId: project.id,
          events: ['write-behind.failed', 'breaker.transition'],
          enabled: false,
        })
        .expect(200);
      expect(edited.body.data).toMatchObject({
        url: 'https://example.com/b',
        projectId: project.id,
        events: ['write-behind.failed', 'breaker.transition'],
        enabled: false,
        secretPrefix: created.secretPrefix,
      });
      expect(edited.body.data).not.toHaveProperty('secret');
      expect((await api.patch(created.id, { projectId: null }).expect(200)).body.data.projectId).toBeNull();

      const rotated = await gateway
        .http()
        .post(`/api/admin/webhooks/${created.id}/rotate-secret`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(rotated.body.data.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
      expect(rotated.body.data.secret).not.toBe(created.secret);

      const listed = await gateway
        .http()
        .get('/api/admin/webhooks?size=100')
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      const items = listed.body.data.items as Record<string, unknown>[];
      expect(items.map((item) => item.id)).toContain(created.id);
      expect(items.every((item) => !('secret' in item))).toBe(true);

      await gateway
        .http()
        .delete(`/api/admin/webhooks/${created.id}`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect((await api.get(created.id).expect(404)).body.error).toBe('NOT_FOUND');
      expect((await api.patch(created.id, { enabled: true }).expect(404)).body.error).toBe('NOT_FOUND');
      expect((await api.get('nope').expect(400)).body.error).toBe('VALIDATION_FAILED');
    });

    it.each(['events', 'url', 'format', 'enabled'])(
      'refuses %s: null on edit with 400 naming the field (only projectId: null means something)',
      async (field) => {
        const created = await api.create({ url: 'https://example.com/hook', events: ['quota.exhausted'] }).expect(200);
        const res = await api.patch(created.body.data.id as string, { [field]: null }).expect(400);
        expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED' });
        expect(fieldsOf(res.body)).toEqual([field]);
        expect((await api.get(created.body.data.id as string).expect(200)).body.data).toMatchObject({
          events: ['quota.exhausted'],
          format: 'json',
          enabled: true,
        });
      },
    );

    it.each(['format', 'enabled'])('refuses %s: null on create with 400 naming the field', async (field) => {
      const res = await api
        .create({ url: 'https://example.com/hook', events: ['quota.exhausted'], [field]: null })
        .expect(400);
      expect(fieldsOf(res.body)).toEqual([field]);
    });

    it('masks the URL in listings and reads, for viewers and admins; create and edit answer it in full', async () => {
      const url = 'https://hooks.slack.com/services/T000/B000/XXXXXXXXSECRET';
      const created = await api.create({ url, events: ['breaker.transition'], format: 'slack' }).expect(200);
      expect(created.body.data).toMatchObject({ url, urlMasked: false });
      const id = created.body.data.id as string;
      const masked = { url: 'https://hooks.slack.com/services/…', urlMasked: true };
      for (const token of [viewer, admin]) {
        const shown = (await api.get(id, token).expect(200)).body.data as Record<string, unknown>;
        expect(shown).toMatchObject(masked);
        const items = (await api.list(token).expect(200)).body.data.items as Record<string, unknown>[];
        expect(items.find((item) => item.id === id)).toMatchObject(masked);
        expect(JSON.stringify(items)).not.toContain('XXXXXXXXSECRET');
      }
      const moved = 'https://user:pass@hooks.slack.com:8443/services/T001/B001/YYYY?token=z';
      expect((await api.patch(id, { url: moved }).expect(200)).body.data).toMatchObject({
        url: moved,
        urlMasked: false,
      });
      expect((await api.get(id, viewer).expect(200)).body.data).toMatchObject({
        url: 'https://hooks.slack.com:8443/services/…',
        urlMasked: true,
      });
      const rotated = await gateway
        .http()
        .post(`/api/admin/webhooks/${id}/rotate-secret`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(rotated.body.data).toMatchObject({ url: 'https://hooks.slack.com:8443/services/…', urlMasked: true });
      // A viewer may not edit, so never sees a full URL.
      await gateway
        .http()
        .patch(`/api/admin/webhooks/${id}`)
        .set('authorization', `Bearer ${viewer}`)
        .send({ enabled: false })
        .expect(403);
    });
  });
});

describe('alerts: shutdown', () => {
  it('closes the app within 1.5 s while an attempt waits on a receiver that never answers', async () => {
    const gateway = await createTestApp({
      database: sqliteDatabase(),
      env: { GATEWAY_WEBHOOK_TIMEOUT_MS: '60000' },
    });
    const requests: string[] = [];
    const silent = createServer((request) => {
      requests.push(String(request.headers['x-gateway-delivery']));
      // Never answers.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    let closed = false;
    try {
      const admin = await adminToken(gateway);
      await gateway
        .http()
        .post('/api/admin/webhooks')
        .set('authorization', `Bearer ${admin}`)
        .send({
          url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`,
          events: ['write-behind.failed'],
        })
        .expect(200);
      gateway.app.get(WebhookDispatcher).enqueue({
        id: 'e'.repeat(32),
        type: 'write-behind.failed',
        projectId: null,
        occurredAt: gateway.clock.now(),
        node: gateway.config.nodeId,
        data: { log: 'minute-metrics', error: 'down', held: 1 },
      });
      await eventually(() => expect(requests).toHaveLength(1), {
        timeoutMs: 2000,
        what: 'the receiver got the attempt',
      });
      const started = Date.now();
      await gateway.close();
      closed = true;
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      if (!closed) await gateway.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 10_000);
});

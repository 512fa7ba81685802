import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayClient } from './gateway-client';
import { type LiveGateway, liveGateway } from './testing/live-gateway';
import { type LocalServer, json, listen, ok } from './testing/servers';

describe('GatewayClient.sync against the real gateway', () => {
  let gateway: LiveGateway;
  let gw: GatewayClient;

  beforeAll(async () => {
    gateway = await liveGateway();
    gw = new GatewayClient({ baseUrl: gateway.url, apiKey: gateway.apiKey });
  });
  afterAll(async () => {
    await gw.close();
    await gateway.close();
  });

  /** The project's instances as the typed client reads them: businessId → [status, endpoint]. */
  async function registry(): Promise<Record<string, [string, string | null]>> {
    const { data } = await gw.api.GET('/api/instances', { params: { query: { page: 1, size: 200 } } });
    const items = (data?.data.items ?? []) as { businessId: string; status: string; endpoint?: string | null }[];
    return Object.fromEntries(items.map((i) => [i.businessId, [i.status, i.endpoint ?? null]]));
  }

  it('creates, updates, leaves alone, deactivates, and re-activates only when asked to', async () => {
    const first = await gw.sync([
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'twilio', endpoint: 'https://twilio.example/v1' },
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'vonage', endpoint: 'https://vonage.example/v1' },
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'twilio', endpoint: 'https://ignored.example' },
    ]);
    expect(first.instances.map((i) => [i.businessId, i.registration])).toEqual([
      ['twilio', 'created'],
      ['vonage', 'created'],
    ]);
    expect(first.instances.every((i) => /^[0-9a-f]{32}$/.test(i.id) && i.apiType === 'SMS_SERVICE')).toBe(true);
    expect(first).toMatchObject({ activated: [], inactive: [], deactivated: [] });

    // Next start-up: twilio moved, vonage is gone from the list.
    const second = await gw.sync([
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'twilio', endpoint: 'https://twilio.example/v2' },
    ]);
    expect(second.instances).toEqual([{ ...first.instances[0], registration: 'updated' }]);
    expect(second.deactivated).toEqual([{ apiType: 'SMS_SERVICE', businessId: 'vonage', id: first.instances[1].id }]);
    expect(await registry()).toMatchObject({
      twilio: ['ACTIVE', 'https://twilio.example/v2'],
      vonage: ['INACTIVE', 'https://vonage.example/v1'],
    });

    // vonage is listed again: a restart does not undo a deactivation (ADR 0009), it only says so.
    const both = [
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'twilio', endpoint: 'https://twilio.example/v2' },
      { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: 'vonage', endpoint: 'https://vonage.example/v1' },
    ] as const;
    const vonage = { apiType: 'SMS_SERVICE', businessId: 'vonage', id: first.instances[1].id };
    const third = await gw.sync(both);
    expect(third.instances.map((i) => i.registration)).toEqual(['unchanged', 'unchanged']);
    expect(third).toMatchObject({ activated: [], inactive: [vonage], deactivated: [] });
    expect((await registry()).vonage[0]).toBe('INACTIVE');

    // An application that owns the decision asks for it.
    const fourth = await gw.sync(both, { activate: true });
    expect(fourth).toMatchObject({ activated: [vonage], inactive: [], deactivated: [] });
    expect((await registry()).vonage[0]).toBe('ACTIVE');
  });

  it("leaves other identifiers' instances alone unless the scope is the project", async () => {
    await gw.sync([{ apiIdentifier: 'email', apiType: 'EMAIL_SERVICE', businessId: 'ses' }]);
    const scoped = await gw.sync([{ apiIdentifier: 'chat', businessId: 'openai' }]);
    expect(scoped.instances[0]).toMatchObject({ apiType: 'MODEL', registration: 'created' });
    expect(scoped.deactivated).toEqual([]);

    const kept = await gw.sync([{ apiIdentifier: 'chat', businessId: 'openai' }], {
      scope: 'project',
      deactivateMissing: false,
    });
    expect(kept.deactivated).toEqual([]);

    const project = await gw.sync([{ apiIdentifier: 'chat', businessId: 'openai' }], { scope: 'project' });
    expect(project.deactivated.map((i) => i.businessId).sort()).toEqual(['ses', 'twilio', 'vonage']);
    expect(await registry()).toMatchObject({ ses: ['INACTIVE', null], openai: ['ACTIVE', null] });
  });

  it('reads every page of a large project before deactivating', async () => {
    const many = Array.from({ length: 450 }, (_, n) => ({ apiIdentifier: 'bulk', businessId: `node-${n}` }));
    const created = await gw.sync(many);
    expect(created.instances).toHaveLength(450);
    const result = await gw.sync(many.slice(0, 10));
    expect(result.deactivated).toHaveLength(440);
  });
});

describe('GatewayClient.sync when a batch is slow or gets no answer', () => {
  const servers: LocalServer[] = [];
  afterEach(() => Promise.all(servers.splice(0).map((server) => server.close())));

  /** A gateway whose batch route answers after `delayMs` (never when undefined); nothing else is registered. */
  async function slowGateway(delayMs: number | undefined): Promise<LocalServer> {
    const server = await listen(async (request, res) => {
      if (request.url === '/api/instances/batch') {
        if (delayMs === undefined) return; // no answer, ever
        await sleep(delayMs);
        const { instances } = JSON.parse(request.body) as { instances: { apiType: string; businessId: string }[] };
        const answer = instances.map((instance, n) => ({
          ...instance,
          id: n.toString(16).padStart(32, '0'),
          status: 'ACTIVE',
          registration: 'created',
        }));
        json(res, 200, ok(answer));
        return;
      }
      json(res, 200, ok({ items: [], total: 0, page: 1, size: 200 }));
    });
    servers.push(server);
    return server;
  }

  const list = [{ apiIdentifier: 'chat', businessId: 'openai' }];

  it('gives a batch longer than the client’s gatewayTimeoutMs, and sends it once', async () => {
    const gateway = await slowGateway(400);
    const client = new GatewayClient({ baseUrl: gateway.url, apiKey: 'k', gatewayTimeoutMs: 100 });
    const result = await client.sync(list);
    expect(result.instances.map((i) => i.registration)).toEqual(['created']);
    expect(gateway.requests.filter((r) => r.url === '/api/instances/batch')).toHaveLength(1);
    await client.close();
  });

  it('sends a batch that got no answer (it may have been applied) once more only', async () => {
    const gateway = await slowGateway(undefined);
    const client = new GatewayClient({ baseUrl: gateway.url, apiKey: 'k' });
    await expect(client.sync(list, { batchTimeoutMs: 100 })).rejects.toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(gateway.requests.filter((r) => r.url === '/api/instances/batch')).toHaveLength(2);
    await client.close();
  });
});

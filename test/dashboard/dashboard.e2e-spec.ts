import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BreakerEventLog } from '../../src/circuit-breaker/breaker-event-log';
import { DashboardModule } from '../../src/dashboard/dashboard.module';
import { MinuteAggregator } from '../../src/minute-metrics/minute-aggregator';
import { adminToken, createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, registerInstances, reportResult } from '../utils/hot-path';
import { TEST_ADMIN, createTestApp, type TestApp } from '../utils/test-app';
import { PageProblems, describeInBrowser, launchChromium, screenshot } from './browser';

/** The instance with an hour of traffic; one whose breaker a test trips; one an operator commands. */
const TRAFFIC = 'azure-east';
const TRIPPED = 'azure-west';
const OPERATED = 'azure-north';
/** One the fleet test trips; one a test deactivates and activates again. */
const FLEET_TRIPPED = 'azure-south';
const TOGGLED = 'azure-spare';
/** Two backends of another API, with a few calls in the last minutes only (sparse points), compared side by side. */
const COMPARED = ['claude-a', 'claude-b'] as const;
const COMPARED_API = 'claude';
const MINUTE_MS = 60_000;
/** The first two colours of the comparison charts (chart-kit.js PALETTE), as RGB. */
const COMPARED_COLOURS = [
  [0x0b, 0x57, 0xd0],
  [0xc6, 0x28, 0x28],
];

/** The fields the page reads from the monitoring API (the shapes it was written against). */
const OVERVIEW_FIELDS = (
  'totalInstances healthyInstances activeInstances averageSuccessRate averageLatency totalCalls openBreakers ' +
  'totalSelections totalTokens totalCost p95LatencyMs p99LatencyMs windowMinutes'
).split(' ');
const INSTANCE_FIELDS = (
  'instanceId businessId apiIdentifier apiType status gatewayStatus successRate recentCalls breakerState ' +
  'breakerReason p99LatencyMs openLeases rpm tpm coolDownUntil selectable window errorClasses lastError ' +
  'nextProbeAt trafficSharePercent'
).split(' ');
const FLEET_FIELDS = 'window generatedAt totals projects openBreakers degradedApis topErrorClasses'.split(' ');
const FLEET_TOTALS = 'projects instances openBreakers degradedApis calls successRate'.split(' ');
const POINT_FIELDS = (
  'timestamp time calls successes failures selections successRate p50LatencyMs p95LatencyMs p99LatencyMs ' +
  'totalTokens cost'
).split(' ');

const missing = (object: object, fields: string[]): string[] => fields.filter((field) => !(field in object));

// Browser-side snippets as strings: the test's TypeScript program has no DOM types.
const SESSION_KEY = 'gateway.dashboard.session';
/** Ids of the form fields without a label (visible or not). */
const UNLABELLED_FIELDS = `[...document.querySelectorAll('input, select, textarea')]
  .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label'))
  .map((field) => field.id)`;

/**
 * Each test has its own browser context (a fresh tab, no session) and, where it changes a breaker,
 * its own instance, so the tests pass in any order and alone (`-t`).
 */
describeInBrowser('dashboard in a browser', () => {
  let gateway: TestApp;
  let project: TestProject;
  let ids: Record<string, string>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;

  const report = (businessId: string, body: Record<string, unknown>) =>
    reportResult(gateway, project, ids[businessId], { businessId, ...body });
  const row = (businessId: string) => page.locator(`#instances-table tr[data-instance-id="${ids[businessId]}"]`);
  const breakerBadge = (businessId: string, state: string) =>
    row(businessId).locator('[data-column="breaker"] .badge', { hasText: new RegExp(`^${state}$`) });

  /** Pixels of the canvas in `selector` close to `rgb` (a line or dot of that colour was drawn). */
  const pixelsOf = (selector: string, rgb: number[]) =>
    page.evaluate<number>(`(() => {
      const canvas = document.querySelector(${JSON.stringify(selector)});
      if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const [r, g, b] = ${JSON.stringify(rgb)};
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40) count += 1;
      }
      return count;
    })()`);
  /** Waits until `probe` gives a number above 0 (the page draws after its own refresh). */
  async function eventuallyPositive(probe: () => Promise<number>, what: string): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await probe();
      if (value > 0) return value;
      if (Date.now() > deadline) throw new Error(`${what}: nothing drawn within 10 s`);
      await page.waitForTimeout(100);
    }
  }
  /** Waits (with a deadline) until the element's width satisfies `test`: the page redrew at the new size. */
  async function widthOf(selector: string, test: (width: number) => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const box = await page.locator(selector).boundingBox();
      if (box && test(box.width)) return;
      if (Date.now() > deadline) throw new Error(`${selector}: width ${box?.width} never matched`);
      await page.waitForTimeout(100);
    }
  }
  const admin = async () => ({ authorization: `Bearer ${await adminToken(gateway)}` });
  const keyIsValid = async (secret: string): Promise<boolean> => {
    const check = await gateway
      .http()
      .get('/api/admin/apikeys/validate')
      .query({ apiKey: secret })
      .set(await admin())
      .expect(200);
    return (check.body.data as { valid: boolean }).valid;
  };
  /** Answers the confirmation dialog with its confirm button, after checking what it asks. */
  async function confirm(title: RegExp, button: string): Promise<void> {
    const dialog = page.getByRole('dialog', { name: title });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: button }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  /** The page with an admin already logged in (the session the login form would store), at `hash`. */
  async function openLoggedIn(hash = '', user: { username: string; password: string } = TEST_ADMIN): Promise<void> {
    const login = await gateway.http().post('/api/admin/auth/login').send(user).expect(200);
    const { accessToken, expiresIn, role } = login.body.data as {
      accessToken: string;
      expiresIn: number;
      role: string;
    };
    const session = {
      token: accessToken,
      expiresAt: Date.now() + expiresIn * 1000,
      username: user.username,
      role,
    };
    await page.addInitScript(`sessionStorage.setItem('${SESSION_KEY}', ${JSON.stringify(JSON.stringify(session))})`);
    await page.goto(`${await gateway.app.getUrl()}/api/dashboard?refresh=500${hash}`);
  }
  const openProject = () => openLoggedIn(`#/project/${project.id}`);

  beforeAll(async () => {
    gateway = await createTestApp({ extra: { imports: [DashboardModule] } });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    project = await createProject(gateway, 'Checkout');
    ids = await registerInstances(gateway, project, [
      modelInstance(TRAFFIC, 'gpt-4o', {}),
      modelInstance(TRIPPED, 'gpt-4o', {}),
      modelInstance(OPERATED, 'gpt-4o', {}),
      modelInstance(FLEET_TRIPPED, 'gpt-4o', {}),
      modelInstance(TOGGLED, 'gpt-4o', {}),
      ...COMPARED.map((businessId) => modelInstance(businessId, COMPARED_API, {})),
    ]);
    // An hour of traffic, one minute in five, so the charts have a shape.
    for (let minute = 0; minute < 60; minute += 5) {
      // A failure now and then, before the successes: the breaker must still be CLOSED at the end.
      if (minute % 15 === 10)
        await report(TRAFFIC, { success: false, errorMessage: 'Request failed with status code 503' });
      for (let call = 0; call < 4; call += 1) {
        await report(TRAFFIC, {
          success: true,
          latencyMs: 80 + minute * 3 + call * 20,
          usageMetrics: { totalTokens: 400, cost: 0.002 },
        });
      }
      await gateway.app.get(MinuteAggregator).flush(true);
      gateway.clock.advance(5 * MINUTE_MS);
    }
    // The compared backends: calls in two minutes apart (lone points between empty minutes), 3 to 1.
    for (const minute of [0, 2]) {
      for (let call = 0; call < 4; call += 1) {
        await report(COMPARED[call === 3 ? 1 : 0], {
          success: call !== 2,
          latencyMs: 120 + call * 40,
          ...(call === 2 && { errorMessage: 'Request failed with status code 503' }),
        });
      }
      await gateway.app.get(MinuteAggregator).flush(true);
      if (minute === 0) gateway.clock.advance(2 * MINUTE_MS);
    }
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems = new PageProblems(page);
  });

  afterEach(async () => {
    const found = problems.list();
    await context.close();
    // Every test: no console error, page error or failing request it did not provoke itself.
    expect(found).toEqual([]);
  });

  it('the monitoring API answers the shapes the page is written against', async () => {
    const token = await adminToken(gateway);
    const get = (path: string) => gateway.http().get(path).set('authorization', `Bearer ${token}`).expect(200);
    const overview = (await get(`/api/admin/monitoring/overview?projectId=${project.id}`)).body.data as object;
    const instances = (await get(`/api/admin/monitoring/instances?projectId=${project.id}`)).body.data as {
      instanceId: string;
    }[];
    const series = (await get(`/api/admin/monitoring/timeseries?timeRange=1h&projectId=${project.id}`)).body.data as {
      points: object[];
    };
    expect(missing(overview, OVERVIEW_FIELDS)).toEqual([]);
    expect(instances).toHaveLength(Object.keys(ids).length);
    const traffic = instances.find((instance) => instance.instanceId === ids[TRAFFIC])!;
    expect(missing(traffic, INSTANCE_FIELDS)).toEqual([]);
    expect(traffic).toMatchObject({
      breakerState: 'CLOSED',
      rpm: { limit: null, used: expect.any(Number) },
      tpm: { limit: null, used: expect.any(Number) },
    });
    expect(series.points.length).toBeGreaterThan(1);
    expect(missing(series.points[0], POINT_FIELDS)).toEqual([]);
    const fleet = (await get('/api/admin/monitoring/fleet?timeWindow=10m')).body.data as { totals: object };
    expect(missing(fleet, FLEET_FIELDS)).toEqual([]);
    expect(missing(fleet.totals, FLEET_TOTALS)).toEqual([]);
    const compared = COMPARED.map((businessId) => ids[businessId]).join(',');
    const side = (await get(`/api/admin/monitoring/instances/series?instanceIds=${compared}&timeRange=1h`)).body
      .data as { instanceId: string; businessId: string; points: object[] }[];
    expect(side.map((entry) => entry.businessId)).toEqual([...COMPARED]);
    // "Last hour" is drawn from 1-minute points: a fresh system shows more than one dot.
    expect(side[0].points.length).toBeGreaterThanOrEqual(60);
    const stamps = series.points.map((point) => (point as { timestamp: number }).timestamp);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
  });

  it('logs in with the keyboard, after showing the envelope message of a wrong password, and opens the project', async () => {
    await page.goto(`${await gateway.app.getUrl()}/api/dashboard?refresh=500`);
    // The form takes the focus; the skip link comes first in the tab order.
    await page.locator('#login-username:focus').waitFor();
    await page.keyboard.press('Shift+Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to main content');
    await page.keyboard.press('Tab');
    const loginForm = page.locator('#login-form');
    const username = loginForm.getByLabel('Username');
    problems.allow(/^POST \/api\/admin\/auth\/login → 401$/);
    await username.fill(TEST_ADMIN.username);
    await loginForm.getByLabel('Password').fill('not-the-password');
    await loginForm.getByLabel('Password').press('Enter');
    await page
      .getByRole('alert')
      .filter({ hasText: /password/i })
      .waitFor();
    await screenshot(page, 'login', { docs: true });

    await loginForm.getByLabel('Password').fill(TEST_ADMIN.password);
    await loginForm.getByLabel('Password').press('Enter');
    // After login: the fleet view, with the project in the list.
    await page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
    const projectLink = page.locator('#project-list').getByRole('link', { name: 'Checkout' });
    await projectLink.waitFor();
    expect(await page.evaluate<string[]>(UNLABELLED_FIELDS)).toEqual([]);
    await projectLink.click();
    await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
    await breakerBadge(TRAFFIC, 'CLOSED').waitFor();
  });

  it('shows the project: the instance is CLOSED, with overview cards and charts drawn', async () => {
    await openProject();
    await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
    await breakerBadge(TRAFFIC, 'CLOSED').waitFor();
    await page.locator('#overview-cards .card dt', { hasText: 'Open breakers' }).waitFor();
    for (const chart of ['calls', 'success', 'latency', 'usage']) {
      const canvas = page.locator(`#chart-${chart} canvas`);
      await canvas.waitFor();
      const box = await canvas.boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      expect(box?.height).toBeGreaterThan(100);
    }
    await page.locator('#chart-calls-summary', { hasText: /\d+ calls/ }).waitFor();
    await screenshot(page, 'project', { docs: true });
  });

  it('shows the breaker OPEN after 5 failing reports, and the transition in the event log', async () => {
    await openProject();
    await breakerBadge(TRIPPED, 'CLOSED').waitFor();
    for (let failure = 0; failure < 5; failure += 1) {
      await report(TRIPPED, { success: false, errorMessage: 'Request failed with status code 503' });
    }
    await gateway.app.get(MinuteAggregator).flush(true);
    await gateway.app.get(BreakerEventLog).flush();
    await breakerBadge(TRIPPED, 'OPEN').waitFor(); // the page's own refresh (?refresh=500) brings it
    await page.locator('#events-table tbody tr', { hasText: '5 consecutive' }).waitFor();
    await screenshot(page, 'breaker-open', { docs: true });
  });

  it('operator commands change the breaker: Force open, then Auto', async () => {
    await openProject();
    await row(OPERATED)
      .getByRole('button', { name: `Force open ${OPERATED}` })
      .click();
    await breakerBadge(OPERATED, 'FORCED_OPEN').waitFor();
    // With the keyboard this time; the periodic refreshes must leave the focus on the button.
    const auto = row(OPERATED).getByRole('button', { name: `Auto ${OPERATED}` });
    await auto.focus();
    await page.keyboard.press('Enter');
    await breakerBadge(OPERATED, 'CLOSED').waitFor();
    // Two more refreshes: the second starts only after the first has updated the table.
    for (let refresh = 0; refresh < 2; refresh += 1) {
      await page.waitForResponse((response) => response.url().includes('/api/admin/monitoring/instances?'));
    }
    expect(await page.locator(':focus').textContent()).toBe(`Auto ${OPERATED}`);
    await breakerBadge(OPERATED, 'CLOSED').waitFor();
  });

  it('switches the charts to another time range', async () => {
    const token = await adminToken(gateway);
    const day = await gateway
      .http()
      .get(`/api/admin/monitoring/timeseries?timeRange=24h&projectId=${project.id}`)
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    await openProject();
    await page.locator('#chart-latency canvas').waitFor();
    // The last hour at 1-minute points.
    await page.locator('#charts-message', { hasText: 'One point per minute.' }).waitFor();
    await page.locator('#time-range').selectOption('24h');
    const bucket = (day.body.data as { bucketMinutes: number }).bucketMinutes;
    await page.locator('#charts-message', { hasText: `One point per ${bucket} minutes` }).waitFor();
    await page.locator('#chart-latency canvas').waitFor();
  });

  it('creates an API key and shows its secret once', async () => {
    await openProject();
    await page.locator('#key-form').getByLabel('Description (optional)').fill('dashboard test key');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'API key created' });
    await dialog.waitFor();
    const secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^gw_[A-Za-z0-9]{32,}$/);
    await dialog.getByText('shown only this once').waitFor();
    await screenshot(page, 'secret', { docs: true, fullPage: false });
    await dialog.getByRole('button', { name: 'I have stored it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('#keys-table tbody tr', { hasText: 'dashboard test key' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    const token = await adminToken(gateway);
    const check = await gateway
      .http()
      .get('/api/admin/apikeys/validate')
      .query({ apiKey: secret })
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    expect(check.body.data).toMatchObject({ valid: true, projectId: project.id });
  });

  it('goes back to the login form when the token is refused (401)', async () => {
    await openProject();
    await breakerBadge(TRAFFIC, 'CLOSED').waitFor();
    problems.allow(/→ 401$/);
    await page.evaluate(`(() => {
      const session = JSON.parse(sessionStorage.getItem('${SESSION_KEY}'));
      sessionStorage.setItem('${SESSION_KEY}', JSON.stringify({ ...session, token: 'not-a-jwt' }));
    })()`);
    // The page's next refresh (every 500 ms here) sends the refused token.
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'invalid or expired' }).waitFor();
    expect(await page.evaluate(`sessionStorage.getItem('${SESSION_KEY}')`)).toBeNull();
  });

  it('shows the fleet after login: an open breaker with its next probe time once failures are reported', async () => {
    await page.goto(`${await gateway.app.getUrl()}/api/dashboard?refresh=500`);
    const loginForm = page.locator('#login-form');
    await loginForm.getByLabel('Username').fill(TEST_ADMIN.username);
    await loginForm.getByLabel('Password').fill(TEST_ADMIN.password);
    await loginForm.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
    await page.locator('#fleet-projects-table tbody tr', { hasText: 'Checkout' }).waitFor();
    await page.locator('#fleet-cards .card dt', { hasText: 'Open breakers' }).waitFor();
    const breaker = page.locator(`#fleet-breakers-table tr[data-instance-id="${ids[FLEET_TRIPPED]}"]`);
    expect(await breaker.count()).toBe(0);
    for (let failure = 0; failure < 5; failure += 1) {
      await report(FLEET_TRIPPED, { success: false, errorMessage: 'Request failed with status code 503' });
    }
    await gateway.app.get(MinuteAggregator).flush(true);
    // The page's own refresh brings the breaker, its reason and when it lets the next probe through.
    await breaker.locator('.badge', { hasText: /^OPEN$/ }).waitFor();
    await breaker.getByText('5 consecutive').waitFor();
    const probe = breaker.locator('[data-column="next-probe"] time');
    await probe.waitFor();
    const token = await adminToken(gateway);
    const fleet = await gateway
      .http()
      .get('/api/admin/monitoring/fleet')
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    const open = (fleet.body.data as { openBreakers: { instanceId: string; nextProbeAt: string }[] }).openBreakers;
    expect(await probe.getAttribute('datetime')).toBe(
      open.find((entry) => entry.instanceId === ids[FLEET_TRIPPED])?.nextProbeAt,
    );
    await page.locator('#fleet-errors-table tbody tr', { hasText: 'SERVER_ERROR' }).waitFor();
    await page.locator('#fleet-window-label', { hasText: 'last 10 minutes' }).waitFor();
    expect(await page.evaluate<string[]>(UNLABELLED_FIELDS)).toEqual([]);
    await screenshot(page, 'fleet', { docs: true });
  });

  it('compares two backends side by side, and their charts are still drawn after the window is resized', async () => {
    await openProject();
    await page.getByLabel('API', { exact: true }).selectOption(COMPARED_API);
    const table = page.locator('#compare-table');
    for (const businessId of COMPARED) {
      await table.locator(`tr[data-instance-id="${ids[businessId]}"]`).waitFor();
    }
    // 6 calls of 8 went to claude-a: the traffic split, and every figure names its window.
    await table
      .locator(`tr[data-instance-id="${ids[COMPARED[0]]}"] [data-column="share"]`, { hasText: '75' })
      .waitFor();
    await table
      .locator(`tr[data-instance-id="${ids[COMPARED[1]]}"] [data-column="share"]`, { hasText: '25' })
      .waitFor();
    await table.locator('thead', { hasText: '(last 10 minutes)' }).waitFor();
    await table
      .locator(`tr[data-instance-id="${ids[COMPARED[0]]}"] [data-column="errors"]`, { hasText: 'SERVER_ERROR' })
      .waitFor();
    await table
      .locator(`tr[data-instance-id="${ids[COMPARED[0]]}"] [data-column="last-error"]`, { hasText: 'SERVER_ERROR' })
      .waitFor();
    await page.locator('#compare-message', { hasText: 'One point per minute.' }).waitFor();
    await page.locator('#compare-success-summary', { hasText: COMPARED[1] }).waitFor();
    const drawn = async (label: string) => {
      for (const [index, colour] of COMPARED_COLOURS.entries()) {
        await eventuallyPositive(() => pixelsOf('#compare-success canvas', colour), `${label}: ${COMPARED[index]}`);
        await eventuallyPositive(
          () => pixelsOf('#compare-calls canvas', colour),
          `${label}: calls of ${COMPARED[index]}`,
        );
      }
    };
    await drawn('before the resize');
    const before = (await page.locator('#compare-success canvas').boundingBox())!.width;
    // Narrower window, wider charts (one per row instead of two), then the other way round.
    await page.setViewportSize({ width: 1000, height: 900 });
    await widthOf('#compare-success canvas', (width) => width > before + 50);
    await drawn('after narrowing the window');
    await page.setViewportSize({ width: 1440, height: 1000 });
    await widthOf('#compare-success canvas', (width) => Math.abs(width - before) < 2);
    await drawn('after widening the window');
    await screenshot(page, 'compare', { docs: true });
  });

  it('revokes one API key and rotates another, each after a confirmation', async () => {
    const created: Record<string, { id: string; apiKeyValue: string }> = {};
    for (const description of ['to revoke', 'to rotate']) {
      const res = await gateway
        .http()
        .post(`/api/admin/projects/${project.id}/apikeys`)
        .set(await admin())
        .send({ description })
        .expect(200);
      created[description] = res.body.data as { id: string; apiKeyValue: string };
    }
    await openProject();
    const keyRow = (description: string) => page.locator(`#keys-table tr[data-key-id="${created[description].id}"]`);
    await keyRow('to revoke')
      .getByRole('button', { name: /^Revoke / })
      .click();
    // Cancel first: nothing happens.
    const dialog = page.getByRole('dialog', { name: 'Revoke this API key?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await keyIsValid(created['to revoke'].apiKeyValue)).toBe(true);
    await keyRow('to revoke')
      .getByRole('button', { name: /^Revoke / })
      .click();
    await confirm(/Revoke this API key/, 'Revoke key');
    await keyRow('to revoke').locator('[data-column="status"]', { hasText: 'REVOKED' }).waitFor();
    expect(await keyIsValid(created['to revoke'].apiKeyValue)).toBe(false);

    await keyRow('to rotate')
      .getByRole('button', { name: /^Rotate / })
      .click();
    await confirm(/Rotate this API key/, 'Rotate key');
    const secretDialog = page.getByRole('dialog', { name: 'API key rotated' });
    await secretDialog.waitFor();
    const secret = await secretDialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^gw_[A-Za-z0-9]{32,}$/);
    expect(secret).not.toBe(created['to rotate'].apiKeyValue);
    await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
    await secretDialog.waitFor({ state: 'hidden' });
    expect(await page.content()).not.toContain(secret);
    expect(await keyIsValid(secret)).toBe(true);
    expect(await keyIsValid(created['to rotate'].apiKeyValue)).toBe(false);
  });

  it('deactivates an instance after a confirmation, and activates it again', async () => {
    await openProject();
    const status = (value: string) =>
      row(TOGGLED).locator('[data-column="status"] .registry-status', { hasText: new RegExp(`^${value}$`) });
    await status('ACTIVE').waitFor();
    await row(TOGGLED)
      .getByRole('button', { name: `Deactivate ${TOGGLED}` })
      .click();
    await confirm(new RegExp(`Deactivate ${TOGGLED}`), 'Deactivate');
    await status('INACTIVE').waitFor();
    const get = async () =>
      (
        (
          await gateway
            .http()
            .get(`/api/admin/instances/${ids[TOGGLED]}`)
            .set(await admin())
            .expect(200)
        ).body.data as {
          status: string;
        }
      ).status;
    expect(await get()).toBe('INACTIVE');
    await row(TOGGLED)
      .getByRole('button', { name: `Activate ${TOGGLED}` })
      .click();
    await status('ACTIVE').waitFor();
    expect(await get()).toBe('ACTIVE');
  });

  it('edits an instance and shows the field of a refused value', async () => {
    await openProject();
    await row(TOGGLED)
      .getByRole('button', { name: `Edit ${TOGGLED}` })
      .click();
    const dialog = page.getByRole('dialog', { name: new RegExp(`Edit ${TOGGLED}`) });
    await dialog.waitFor();
    problems.allow(/^PUT \/api\/admin\/instances\/[0-9a-f]{32} → 400$/);
    await dialog.getByLabel(/^Endpoint/).fill('not a url');
    await dialog.getByRole('button', { name: 'Save instance' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'endpoint' }).waitFor();
    expect(await dialog.getByLabel(/^Endpoint/).getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel(/^Endpoint/).fill('https://backend.example.com/v1');
    await dialog.getByRole('button', { name: 'Save instance' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const saved = await gateway
      .http()
      .get(`/api/admin/instances/${ids[TOGGLED]}`)
      .set(await admin())
      .expect(200);
    expect(saved.body.data).toMatchObject({ endpoint: 'https://backend.example.com/v1', apiIdentifier: 'gpt-4o' });
  });

  it('manages admin users: creates one, refuses a taken name with the message, deletes after a confirmation', async () => {
    await openLoggedIn('#/users');
    await page.getByRole('heading', { level: 1, name: 'Admin users' }).waitFor();
    const users = page.locator('#users-table tbody');
    await users.locator('tr', { hasText: TEST_ADMIN.username }).waitFor();
    const form = page.locator('#user-form');
    await form.getByLabel('Username').fill('ops-viewer');
    await form.getByLabel(/^Password/).fill('viewer-password-1');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Create user' }).click();
    const created = users.locator('tr', { hasText: 'ops-viewer' });
    await created.locator('[data-column="role"]', { hasText: 'viewer' }).waitFor();
    // The same name again: the gateway's message, shown in the form.
    problems.allow(/^POST \/api\/admin\/users → 409$/);
    await form.getByLabel('Username').fill('ops-viewer');
    await form.getByLabel(/^Password/).fill('viewer-password-1');
    await form.getByRole('button', { name: 'Create user' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: /taken|exists/i })
      .waitFor();
    expect(await page.evaluate<string[]>(UNLABELLED_FIELDS)).toEqual([]);

    await created.getByRole('button', { name: 'Delete ops-viewer' }).click();
    await confirm(/Delete ops-viewer/, 'Delete user');
    await created.waitFor({ state: 'detached' });
    const list = await gateway
      .http()
      .get('/api/admin/users')
      .set(await admin())
      .expect(200);
    expect((list.body.data as { username: string }[]).map((user) => user.username)).not.toContain('ops-viewer');
  });

  it('creates a webhook and shows its signing secret once; sends a test, edits and deletes it', async () => {
    // A real receiver on a free port: the test delivery must reach it, signed.
    const received: IncomingHttpHeaders[] = [];
    const receiver = createServer((request, response) => {
      received.push(request.headers);
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gateway-hook`;
    try {
      await openLoggedIn('#/webhooks');
      await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
      const form = page.locator('#webhook-form');
      await form.getByLabel('URL').fill(url);
      await form.getByLabel('Scope').selectOption({ label: 'Project Checkout' });
      await form.getByLabel('Quota exhausted').uncheck();
      await form.getByLabel('Format').selectOption('slack');
      await form.getByRole('button', { name: 'Create webhook' }).click();
      const dialog = page.getByRole('dialog', { name: 'Webhook created' });
      await dialog.waitFor();
      const secret = await dialog.getByLabel('Secret').inputValue();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      await dialog.getByText('shown only this once').waitFor();
      await screenshot(page, 'webhook-secret', { docs: true, fullPage: false });
      await dialog.getByRole('button', { name: 'I have stored it' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const hook = page.locator('#webhooks-table tbody tr', { hasText: url });
      await hook.getByText('Project Checkout').waitFor();
      await hook.getByText('breaker.transition').waitFor();
      expect(await hook.textContent()).not.toContain('quota.exhausted');
      expect(await page.content()).not.toContain(secret);
      const list = await gateway
        .http()
        .get('/api/admin/webhooks')
        .set(await admin())
        .expect(200);
      const stored = JSON.stringify(list.body.data);
      expect(stored).toContain(url);
      expect(stored).not.toContain(secret);

      await hook.getByRole('button', { name: `Send test ${url}` }).click();
      await page.locator('#webhooks-message', { hasText: 'delivered' }).waitFor();
      expect(received).toHaveLength(1);
      expect(received[0]['x-gateway-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

      await hook.getByRole('button', { name: `Edit ${url}` }).click();
      const edit = page.getByRole('dialog', { name: 'Edit webhook' });
      await edit.getByLabel('Enabled').uncheck();
      await edit.getByRole('button', { name: 'Save webhook' }).click();
      await edit.waitFor({ state: 'hidden' });
      await hook.locator('[data-column="enabled"]', { hasText: 'no' }).waitFor();

      await hook.getByRole('button', { name: `Delete ${url}` }).click();
      await confirm(/Delete this webhook/, 'Delete webhook');
      await hook.waitFor({ state: 'detached' });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('offers a viewer (read-only admin) no write control in any view', async () => {
    const viewer = { username: 'dash-viewer', password: 'viewer-password-2' };
    await gateway
      .http()
      .post('/api/admin/users')
      .set(await admin())
      .send({ ...viewer, role: 'viewer' })
      .expect(200);
    await openLoggedIn(`#/project/${project.id}`, viewer);
    await page.getByText('Signed in as dash-viewer (read-only)').waitFor();
    await breakerBadge(TRAFFIC, 'CLOSED').waitFor();
    await page.locator('#keys-table tbody tr').first().waitFor();
    const visibleButtons = (name: RegExp) => page.getByRole('button', { name }).count();
    for (const name of [/^Force open /, /^Deactivate /, /^Activate /, /^Edit /, /^Revoke /, /^Rotate /, /^Delete /]) {
      expect(await visibleButtons(name)).toBe(0);
    }
    expect(await visibleButtons(/^Create API key$/)).toBe(0);
    await page.locator('nav').getByRole('link', { name: 'Admin users' }).click();
    await page.locator('#users-table tbody tr', { hasText: 'dash-viewer' }).waitFor();
    expect(await visibleButtons(/^Create user$|^Delete |^Change role |^Reset password /)).toBe(0);
    await page.locator('nav').getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    expect(await visibleButtons(/^Create webhook$|^Send test |^Delete /)).toBe(0);
  });
});

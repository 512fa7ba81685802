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
const MINUTE_MS = 60_000;

/** The fields the page reads from the monitoring API (the shapes it was written against). */
const OVERVIEW_FIELDS = (
  'totalInstances healthyInstances activeInstances averageSuccessRate averageLatency totalCalls openBreakers ' +
  'totalSelections totalTokens totalCost p95LatencyMs p99LatencyMs windowMinutes'
).split(' ');
const INSTANCE_FIELDS = (
  'instanceId businessId apiIdentifier apiType status gatewayStatus successRate recentCalls breakerState ' +
  'breakerReason p99LatencyMs openLeases rpm tpm coolDownUntil selectable'
).split(' ');
const POINT_FIELDS = (
  'timestamp time calls successes failures selections successRate p50LatencyMs p95LatencyMs p99LatencyMs ' +
  'totalTokens cost'
).split(' ');

const missing = (object: object, fields: string[]): string[] => fields.filter((field) => !(field in object));

// Browser-side snippets as strings: the test's TypeScript program has no DOM types.
const SESSION_KEY = 'gateway.dashboard.session';
/** Ids of the form fields without a label (visible or not). */
const UNLABELLED_FIELDS = `[...document.querySelectorAll('input, select')]
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
  const row = (businessId: string) => page.locator(`tr[data-instance-id="${ids[businessId]}"]`);
  const breakerBadge = (businessId: string, state: string) =>
    row(businessId).locator('[data-column="breaker"] .badge', { hasText: new RegExp(`^${state}$`) });

  /** The page with an admin already logged in (the session the login form would store), at `hash`. */
  async function openLoggedIn(hash = ''): Promise<void> {
    const login = await gateway.http().post('/api/admin/auth/login').send(TEST_ADMIN).expect(200);
    const { accessToken, expiresIn, role } = login.body.data as {
      accessToken: string;
      expiresIn: number;
      role: string;
    };
    const session = {
      token: accessToken,
      expiresAt: Date.now() + expiresIn * 1000,
      username: TEST_ADMIN.username,
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
    expect(instances).toHaveLength(3);
    const traffic = instances.find((instance) => instance.instanceId === ids[TRAFFIC])!;
    expect(missing(traffic, INSTANCE_FIELDS)).toEqual([]);
    expect(traffic).toMatchObject({
      breakerState: 'CLOSED',
      rpm: { limit: null, used: expect.any(Number) },
      tpm: { limit: null, used: expect.any(Number) },
    });
    expect(series.points.length).toBeGreaterThan(1);
    expect(missing(series.points[0], POINT_FIELDS)).toEqual([]);
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
    const username = page.getByLabel('Username');
    problems.allow(/^POST \/api\/admin\/auth\/login → 401$/);
    await username.fill(TEST_ADMIN.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByLabel('Password').press('Enter');
    await page
      .getByRole('alert')
      .filter({ hasText: /password/i })
      .waitFor();
    await screenshot(page, 'login', { docs: true });

    await page.getByLabel('Password').fill(TEST_ADMIN.password);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('link', { name: 'Checkout' }).waitFor();
    expect(await page.evaluate<string[]>(UNLABELLED_FIELDS)).toEqual([]);
    await page.getByRole('link', { name: 'Checkout' }).click();
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
    await openProject();
    await page.locator('#chart-latency canvas').waitFor();
    await page.getByLabel('Time range').selectOption('24h');
    await page.locator('#charts-message', { hasText: 'One point per 60 minutes' }).waitFor();
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
});

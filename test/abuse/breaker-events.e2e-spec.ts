import { DataSource } from 'typeorm';
import { BreakerEventLog } from '../../src/circuit-breaker/breaker-event-log';
import { BreakerEventsService, type BreakerEventRow } from '../../src/circuit-breaker/breaker-events.service';
import { BreakerService } from '../../src/circuit-breaker/breaker.service';
import { newId, newOrderedId } from '../../src/common/ids';
import { GatewayMetrics } from '../../src/prometheus/gateway-metrics';
import { createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, postReports, registerInstances } from '../utils/hot-path';
import { parsePrometheus } from '../utils/prometheus-text';
import { createTestApp, type TestApp } from '../utils/test-app';
import { describeEachDatabase, type TestDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/** One for the file: the app's logger is bound to the first app's destination for the whole process. */
const capture = new LogCapture();

const DAY_MS = 86_400_000;
/** The per-project cap these tests run with (the default is 600 a minute). */
const CAP = 5;

/**
 * Issue #15, finding 12: `breaker_events` had no retention, and a tenant could flap its own
 * breakers to write hundreds of rows a second. Rows older than the retention are purged hourly
 * (an operator's override still in force is kept: a restart restores it from this log), and
 * transitions beyond a per-project cap in a minute are counted instead of written, while the
 * breakers themselves keep transitioning.
 */
describeEachDatabase('abuse: breaker events', (database: TestDatabase) => {
  let gateway: TestApp;
  let mallory: TestProject;
  let alice: TestProject;

  const log = () => gateway.app.get(BreakerEventLog);
  const rowsOf = async (projectId: string): Promise<number> => {
    const [row] = await gateway.app
      .get(DataSource)
      .query<{ n: unknown }[]>('SELECT COUNT(*) AS n FROM breaker_events WHERE project_id = ?', [projectId]);
    return Number(row.n);
  };
  /** Five SERVER_ERROR reports per instance, in one batch: each breaker opens. */
  const trip = (project: TestProject, instanceIds: readonly string[]) =>
    postReports(
      gateway,
      project,
      instanceIds.flatMap((instanceId) =>
        Array.from({ length: 5 }, () => ({
          instanceId,
          success: false,
          latencyMs: 10,
          statusCode: 503,
          callTimestamp: gateway.clock.now(),
        })),
      ),
    );
  const breakerOf = async (project: TestProject, instanceId: string): Promise<string> => {
    const res = await gateway.http().get(`/api/instances/${instanceId}/health`).set('api-key', project.apiKey);
    return res.body.data.breaker.state as string;
  };
  const suppressed = async (projectId: string): Promise<number> => {
    const families = parsePrometheus(await gateway.app.get(GatewayMetrics).metrics());
    const family = families.find((one) => one.name === 'gateway_breaker_events_suppressed_total');
    return Number(family?.metrics.find((sample) => sample.labels?.project_id === projectId)?.value ?? 0);
  };
  const warnLinesAbout = async (projectId: string) => {
    await new Promise(setImmediate); // log lines reach the capture a tick later
    return capture.lines().filter((line) => line.level === 40 && JSON.stringify(line).includes(projectId));
  };
  /** The cap's own warnings (one per project and minute). */
  const warningsAbout = async (projectId: string) =>
    (await warnLinesAbout(projectId)).filter((line) => line.context !== 'Breakers');
  /** One warn line per transition written: as bounded as the rows. */
  const transitionLinesAbout = async (projectId: string) =>
    (await warnLinesAbout(projectId)).filter((line) => line.context === 'Breakers');

  beforeAll(async () => {
    gateway = await createTestApp({
      database,
      env: { LOG_LEVEL: 'warn', GATEWAY_BREAKER_EVENTS_PER_MINUTE: String(CAP) },
      logDestination: capture,
    });
    gateway.app.get(BreakerService).random = () => 0.5; // no jitter: a breaker opens for exactly 30 s
    mallory = await createProject(gateway, 'Mallory');
    alice = await createProject(gateway, 'Alice');
  });
  afterAll(() => gateway.close());

  it("a tenant flapping its breakers writes at most the cap a minute; the rest are counted, the breakers still move, others' events are written", async () => {
    const malloryIds = Object.values(
      await registerInstances(
        gateway,
        mallory,
        Array.from({ length: 18 }, (_, i) => modelInstance(`m${i}`)),
      ),
    );
    const aliceIds = Object.values(await registerInstances(gateway, alice, [modelInstance('a0'), modelInstance('a1')]));
    gateway.clock.set(Math.ceil(gateway.clock.now() / 60_000) * 60_000 + 60_000); // the start of a minute

    await trip(mallory, malloryIds.slice(0, 12));
    await trip(alice, aliceIds);
    await log().flush();
    expect(await rowsOf(mallory.id)).toBe(CAP);
    expect(await rowsOf(alice.id)).toBe(2);
    expect(await suppressed(mallory.id)).toBe(12 - CAP);
    expect(await suppressed(alice.id)).toBe(0);
    // The state machine is not throttled, only its log.
    for (const id of malloryIds.slice(0, 12)) expect(await breakerOf(mallory, id)).toBe('OPEN');
    expect(await warningsAbout(mallory.id)).toHaveLength(1);
    expect(await warningsAbout(alice.id)).toHaveLength(0);
    expect(await transitionLinesAbout(mallory.id)).toHaveLength(CAP);
    expect(await transitionLinesAbout(alice.id)).toHaveLength(2);

    // 31 s later, in the same minute: looking at them turns them HALF_OPEN, not written, one warning still.
    gateway.clock.advance(31_000);
    for (const id of malloryIds.slice(0, 12)) expect(await breakerOf(mallory, id)).toBe('HALF_OPEN');
    await log().flush();
    expect(await rowsOf(mallory.id)).toBe(CAP);
    expect(await suppressed(mallory.id)).toBe(24 - CAP);
    expect(await warningsAbout(mallory.id)).toHaveLength(1);

    // The next minute has its own allowance, and its own warning.
    gateway.clock.advance(30_000);
    await trip(mallory, malloryIds.slice(12));
    await log().flush();
    expect(await rowsOf(mallory.id)).toBe(2 * CAP);
    expect(await suppressed(mallory.id)).toBe(24 - CAP + 1);
    expect(await warningsAbout(mallory.id)).toHaveLength(2);
    expect(await transitionLinesAbout(mallory.id)).toHaveLength(2 * CAP);
  });

  it("purges events older than the retention (30 days), keeping an operator's override still in force", async () => {
    const service = gateway.app.get(BreakerEventsService);
    const now = gateway.clock.now();
    const [forced, released, recent] = [newId(), newId(), newId()];
    const row = (instanceId: string, daysAgo: number, toState: BreakerEventRow['toState'], operator = false) => ({
      id: newOrderedId(now - daysAgo * DAY_MS),
      projectId: alice.id,
      instanceId,
      fromState: 'CLOSED' as const,
      toState,
      reason: operator ? `operator: ${toState}` : '5 consecutive SERVER_ERROR',
      at: new Date(now - daysAgo * DAY_MS),
    });
    const before = await rowsOf(alice.id);
    await service.insert([
      row(forced, 50, 'DISABLED', true), // superseded by the newer override: purged
      row(forced, 40, 'FORCED_OPEN', true), // the override in force: kept, however old
      row(forced, 45, 'OPEN'),
      row(released, 45, 'FORCED_OPEN', true),
      row(released, 35, 'CLOSED', true), // AUTO ended that override: both purged
      row(recent, 31, 'OPEN'),
      row(recent, 29, 'OPEN'), // within the retention: kept
    ]);
    expect(await rowsOf(alice.id)).toBe(before + 7);

    expect(await log().purge()).toBe(5);
    expect(await rowsOf(alice.id)).toBe(before + 2);
    const overrides = await service.operatorOverrides();
    expect(overrides.filter((one) => one.instanceId === forced)).toEqual([
      { instanceId: forced, state: 'FORCED_OPEN', at: new Date(now - 40 * DAY_MS) },
    ]);
    expect(overrides.filter((one) => one.instanceId === released)).toEqual([]);
    expect(await log().purge()).toBe(0);
  });

  it('purges a long-unpurged table in batches, all of it', async () => {
    const service = gateway.app.get(BreakerEventsService);
    const instanceId = newId();
    const old = gateway.clock.now() - 40 * DAY_MS;
    const rows = Array.from({ length: 2345 }, (_, i) => ({
      id: newOrderedId(old + i),
      projectId: mallory.id,
      instanceId,
      fromState: 'CLOSED' as const,
      toState: 'OPEN' as const,
      reason: 'flapping',
      at: new Date(old + i),
    }));
    for (let i = 0; i < rows.length; i += 500) await service.insert(rows.slice(i, i + 500));
    const before = await rowsOf(mallory.id);
    expect(await log().purge()).toBe(2345);
    expect(await rowsOf(mallory.id)).toBe(before - 2345);
  });
});

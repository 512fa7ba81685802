import { DataSource } from 'typeorm';
import { MinuteAggregator } from '../../src/minute-metrics/minute-aggregator';
import { GatewayMetrics } from '../../src/prometheus/gateway-metrics';
import { createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, postReport, postReports, registerInstances } from '../utils/hot-path';
import { type Family, parsePrometheus } from '../utils/prometheus-text';
import { createTestApp, type TestApp } from '../utils/test-app';
import { describeEachDatabase, type TestDatabase } from '../utils/test-database';
import { LogCapture } from '../utils/log-capture';

/** One for the file: the app's logger is bound to the first app's destination for the whole process. */
const capture = new LogCapture();

/** The largest finite double is 1.8e308: two of these in one minute summed to Infinity. */
const HUGE = 1.7e308;

const fieldsOf = (body: { details?: { field: string }[] }) => (body.details ?? []).map((detail) => detail.field);

/**
 * Issue #15, finding 1: usage numbers had no upper bound, so two reports with `cost: 1.7e308` in
 * one minute summed to Infinity, the MySQL upsert of that row failed, and because one transaction
 * held every tenant's rows nobody's minute metrics were saved. Every reported number is bounded,
 * the aggregation cannot produce a non-finite value, and a row the database refuses is dropped
 * alone, counted and logged, while the others are written.
 */
describeEachDatabase('abuse: poisoned minute metrics', (database: TestDatabase) => {
  let gateway: TestApp;
  let mallory: TestProject;
  let alice: TestProject;
  let malloryInstance: string;
  let aliceInstance: string;

  const flush = () => gateway.app.get(MinuteAggregator).flush(true);
  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    gateway.app.get(DataSource).query<T[]>(sql, params);
  const callsOf = async (instanceId: string): Promise<number> => {
    const [row] = await query<{ n: unknown }>(
      'SELECT SUM(calls) AS n FROM instance_metrics_minute WHERE instance_id = ?',
      [instanceId],
    );
    return Number(row?.n ?? 0);
  };
  const report = (project: TestProject, instanceId: string, extra: Record<string, unknown> = {}) =>
    postReport(gateway, project, {
      instanceId,
      success: true,
      latencyMs: 100,
      callTimestamp: gateway.clock.now(),
      ...extra,
    });
  const counter = async (name: string): Promise<number> => {
    const text = await gateway.app.get(GatewayMetrics).metrics();
    const family: Family | undefined = parsePrometheus(text).find((one) => one.name === name);
    return Number(family?.metrics[0]?.value ?? Number.NaN);
  };

  beforeAll(async () => {
    gateway = await createTestApp({ database, env: { LOG_LEVEL: 'warn' }, logDestination: capture });
    mallory = await createProject(gateway, 'Mallory');
    alice = await createProject(gateway, 'Alice');
    malloryInstance = (await registerInstances(gateway, mallory, [modelInstance('m')])).m;
    aliceInstance = (await registerInstances(gateway, alice, [modelInstance('a')])).a;
  });
  afterAll(() => gateway.close());
  beforeEach(async () => {
    await flush();
    await query('DELETE FROM instance_metrics_minute');
    gateway.clock.advance(60_000);
  });

  it.each([
    ['promptTokens', 1e9 + 1],
    ['completionTokens', 1e12],
    ['totalTokens', HUGE],
    ['cost', HUGE],
  ])('rejects usageMetrics.%s = %d with 400 VALIDATION_FAILED naming the field', async (field, value) => {
    const res = await report(mallory, malloryInstance, { usageMetrics: { [field]: value } }).expect(400);
    expect(res.body).toMatchObject({ code: 400, error: 'VALIDATION_FAILED' });
    expect(fieldsOf(res.body)).toEqual([`usageMetrics.${field}`]);
  });

  it('rejects a batch whose report carries an unbounded cost, naming the report and the field', async () => {
    const res = await gateway
      .http()
      .post('/api/gateway/report-results')
      .set('api-key', mallory.apiKey)
      .send({
        results: [
          { instanceId: malloryInstance, businessId: 'm', success: true, latencyMs: 1, callTimestamp: 1 },
          {
            instanceId: malloryInstance,
            businessId: 'm',
            success: true,
            latencyMs: 1,
            callTimestamp: 1,
            usageMetrics: { cost: HUGE },
          },
        ],
      })
      .expect(400);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(fieldsOf(res.body)).toEqual(['results.1.usageMetrics.cost']);
  });

  it('accepts the largest bounded usage numbers', async () => {
    await report(mallory, malloryInstance, {
      usageMetrics: { promptTokens: 1e9, completionTokens: 1e9, totalTokens: 1e9, cost: 1e9 },
    }).expect(200);
  });

  it("two reports of cost 1.7e308 in one minute do not stop another tenant's minute metrics, nor store a non-finite value", async () => {
    await report(mallory, malloryInstance, { usageMetrics: { cost: HUGE } });
    await report(mallory, malloryInstance, { usageMetrics: { cost: HUGE } });
    await report(alice, aliceInstance).expect(200);
    await flush();
    expect(await callsOf(aliceInstance)).toBe(1);
    const costs = await query<{ cost: unknown }>('SELECT cost FROM instance_metrics_minute');
    for (const { cost } of costs) expect(Number.isFinite(Number(cost)) && Number(cost) <= 1e15).toBe(true);
  });

  it('a row the database refuses is dropped alone, counted and logged once; every other row is written', async () => {
    const aggregator = gateway.app.get(MinuteAggregator);
    const before = aggregator.stats;
    await refuseRowsOf(malloryInstance);
    try {
      await report(mallory, malloryInstance).expect(200);
      await postReports(gateway, alice, [
        { instanceId: aliceInstance, success: true, latencyMs: 1, callTimestamp: gateway.clock.now() },
        { instanceId: aliceInstance, success: true, latencyMs: 1, callTimestamp: gateway.clock.now() },
      ]);
      capture.clear();
      await flush();
    } finally {
      await stopRefusing();
    }
    expect(await callsOf(aliceInstance)).toBe(2);
    expect(await callsOf(malloryInstance)).toBe(0);
    expect(aggregator.stats).toMatchObject({
      rejectedRows: before.rejectedRows + 1,
      rejectedReports: before.rejectedReports + 1,
      bufferedRows: 0,
      failedFlushes: before.failedFlushes,
    });
    expect(await counter('gateway_metrics_rejected_rows_total')).toBe(aggregator.stats.rejectedRows);
    await new Promise(setImmediate); // log lines reach the capture a tick later
    const warnings = capture
      .lines()
      .filter((line) => String(line.msg).includes('refused') && JSON.stringify(line).includes(malloryInstance));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      rows: [{ projectId: mallory.id, instanceId: malloryInstance, error: expect.stringContaining('refused by test') }],
    });
    const text = JSON.stringify(warnings[0]);
    expect(text).not.toMatch(/INSERT INTO|parameters/i);
    // The next flush is not held back by a backoff: the database was never down.
    await report(alice, aliceInstance).expect(200);
    expect(await aggregator.flush()).toBe(1);
    expect(await callsOf(aliceInstance)).toBe(3);
  });

  // MySQL/MariaDB only: its INT columns stop at 2^31 - 1 (SQLite's integers are 64-bit). A tenant
  // who fills one of its own minutes (a day of reports aimed at one `callTimestamp`) must not stop
  // the others'.
  (database.name === 'mysql' ? it : it.skip)("a counter at its column's maximum fails only its own row", async () => {
    const minute = gateway.clock.now() - (gateway.clock.now() % 60_000);
    await query(
      'INSERT INTO instance_metrics_minute (instance_id, minute_ts, project_id, calls, successes) VALUES (?, ?, ?, ?, ?)',
      [malloryInstance, minute, mallory.id, 2_147_483_647, 2_147_483_647],
    );
    await report(mallory, malloryInstance).expect(200);
    await report(alice, aliceInstance).expect(200);
    await flush();
    expect(await callsOf(aliceInstance)).toBe(1);
    expect(await callsOf(malloryInstance)).toBe(2_147_483_647);
  });

  /** A trigger that makes the database refuse every row of one instance (any dialect). */
  async function refuseRowsOf(instanceId: string): Promise<void> {
    if (database.name === 'mysql') {
      await query(
        `CREATE TRIGGER refuse_rows BEFORE INSERT ON instance_metrics_minute FOR EACH ROW BEGIN ` +
          `IF NEW.instance_id = '${instanceId}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by test trigger'; END IF; END`,
      );
    } else {
      await query(
        `CREATE TRIGGER refuse_rows BEFORE INSERT ON instance_metrics_minute WHEN NEW.instance_id = '${instanceId}' ` +
          `BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`,
      );
    }
  }

  async function stopRefusing(): Promise<void> {
    await query('DROP TRIGGER refuse_rows');
  }
});

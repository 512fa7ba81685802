import { DataSource } from 'typeorm';
import { MinuteAggregator } from '../src/minute-metrics/minute-aggregator';
import { createProject, type TestProject } from './utils/fixtures';
import { modelInstance, postReport, registerInstances, selectedInstance } from './utils/hot-path';
import { TcpProxy } from './utils/tcp-proxy';
import { createTestApp, type TestApp } from './utils/test-app';
import { describeWhenAvailable } from './utils/requirements';
import { mysqlDatabase, mysqlMissing, type TestDatabase } from './utils/test-database';

const url = process.env.TEST_DATABASE_URL;
const ROUNDS = 200;

/**
 * The database goes away for 20 s under load (a TCP proxy between the gateway and MariaDB is cut):
 * select and report keep answering 200 from memory, the minute metrics are held and retried, and
 * once the database is back every acknowledged report is in `instance_metrics_minute`. MySQL only:
 * an embedded SQLite file cannot become unreachable.
 */
describeWhenAvailable('a database outage under load [mysql]', url ? [] : [mysqlMissing()!], () => {
  let gateway: TestApp;
  let proxy: TcpProxy;
  let project: TestProject;
  let instanceIds: string[] = [];

  beforeAll(async () => {
    const real = mysqlDatabase(url!);
    const base = new URL(url!);
    proxy = new TcpProxy(base.hostname, Number(base.port || 3306));
    await proxy.start();
    const throughProxy: TestDatabase = {
      name: 'mysql',
      prepare: async () => {
        const env = await real.prepare();
        const viaProxy = new URL(env.DATABASE_URL);
        viaProxy.hostname = '127.0.0.1';
        viaProxy.port = String(proxy.port);
        return { DATABASE_URL: viaProxy.toString() };
      },
      dispose: () => real.dispose(),
    };
    gateway = await createTestApp({ database: throughProxy });
    project = await createProject(gateway, 'Outage');
    const ids = await registerInstances(
      gateway,
      project,
      ['o-1', 'o-2', 'o-3'].map((businessId) => modelInstance(businessId)),
    );
    instanceIds = Object.values(ids);
  });
  afterAll(async () => {
    await proxy.restore().catch(() => undefined);
    await gateway?.close();
    await proxy.cut();
  });

  it('keeps serving from memory and writes every acknowledged report once the database is back', async () => {
    const aggregator = gateway.app.get(MinuteAggregator);
    const round = async (): Promise<void> => {
      const chosen = await selectedInstance(gateway, project, { apiIdentifier: 'model', apiType: 'MODEL' });
      await postReport(gateway, project, {
        instanceId: chosen.id,
        businessId: chosen.businessId,
        success: true,
        latencyMs: 42,
        callTimestamp: gateway.clock.now(),
        selectionId: chosen.selectionId,
      }).expect(200);
    };
    await round(); // warm: the key is cached, one row written
    expect(await aggregator.flush(true)).toBe(1);

    await proxy.cut();
    for (let i = 0; i < ROUNDS; i++) {
      await round();
      if (i % 10 === 9) {
        gateway.clock.advance(1000); // 20 s of outage in all
        await aggregator.flush();
      }
    }
    expect(aggregator.stats.failedFlushes).toBeGreaterThan(0);
    expect(aggregator.stats.droppedRows).toBe(0);

    await proxy.restore();
    gateway.clock.advance(30_000); // past the longest backoff
    expect(await aggregator.flush()).toBeGreaterThan(0);
    const [sums]: { calls: string | number; selections: string | number }[] = await gateway.app
      .get(DataSource)
      .query(
        'SELECT SUM(calls) AS calls, SUM(selections) AS selections FROM instance_metrics_minute WHERE project_id = ?',
        [project.id],
      );
    expect(Number(sums.calls)).toBe(ROUNDS + 1);
    expect(Number(sums.selections)).toBe(ROUNDS + 1);
    expect(instanceIds).toHaveLength(3);
  });
});

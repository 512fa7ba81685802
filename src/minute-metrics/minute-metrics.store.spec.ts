import { DataSource } from 'typeorm';
import { nestLogs } from '../../test/utils/nest-logs';
import { describeEachDatabase } from '../../test/utils/test-database';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { ADDITIVE_COLUMNS, ADDITIVE_COLUMN_MAX } from './entities/instance-metrics-minute.schema';
import { MinuteBucket, type MinuteReport } from './minute-bucket';
import { MinuteMetricsStore } from './minute-metrics.store';

const P = 'c'.repeat(32);
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const MINUTE = Date.UTC(2026, 10, 29, 12, 0);

function bucket(instanceId: string, reports: readonly Partial<MinuteReport>[], openLeases = 0): MinuteBucket {
  const b = new MinuteBucket(P, instanceId, MINUTE);
  for (const r of reports) b.addReport({ outcome: 'SUCCESS', latencyMs: 100, receivedAt: MINUTE, ...r }, openLeases);
  return b;
}

/**
 * The minute store against a real database (SQLite in memory; MySQL/MariaDB too with
 * `TEST_DATABASE_URL`): what a row holds after one flush, and after two flushes of the same
 * instance and minute (several nodes, or a retried flush) meet in the upsert.
 */
describeEachDatabase('MinuteMetricsStore', (database) => {
  let dataSource: DataSource;
  let store: MinuteMetricsStore;

  beforeAll(async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', ...(await database.prepare()) });
    dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    const created = '2026-11-29 12:00:00.000';
    await dataSource.query(
      'INSERT INTO projects (id, name, status, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [P, 'minute store', 'ACTIVE', '{}', created, created],
    );
    store = new MinuteMetricsStore(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database.dispose();
  });

  beforeEach(async () => {
    await dataSource.query('DELETE FROM instance_metrics_minute');
  });

  const row = async (instanceId: string): Promise<Record<string, number | string | null>> => {
    const rows: Record<string, unknown>[] = await dataSource.query(
      'SELECT * FROM instance_metrics_minute WHERE instance_id = ? AND minute_ts = ?',
      [instanceId, MINUTE],
    );
    expect(rows).toHaveLength(1);
    // MySQL returns BIGINT and DECIMAL as strings; compare numbers.
    return Object.fromEntries(
      Object.entries(rows[0]).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]),
    ) as Record<string, number | string | null>;
  };

  it('writes each outcome into its own column and the time of the last report', async () => {
    await store.upsert([
      bucket(A, [
        { outcome: 'SUCCESS', receivedAt: MINUTE + 1000 },
        { outcome: 'RATE_LIMITED', receivedAt: MINUTE + 5000 },
        { outcome: 'CLIENT_ERROR', receivedAt: MINUTE + 3000 },
        { outcome: 'SERVER_ERROR', receivedAt: MINUTE + 2000 },
        { outcome: 'TIMEOUT', receivedAt: MINUTE + 2000 },
        { outcome: 'AUTH_ERROR', receivedAt: MINUTE + 2000 },
        { outcome: 'UNKNOWN', receivedAt: MINUTE + 2000 },
      ]),
    ]);
    expect(await row(A)).toMatchObject({
      project_id: P,
      calls: 7,
      successes: 1,
      rate_limited: 1,
      client_errors: 1,
      server_errors: 1,
      timeouts: 1,
      auth_errors: 1,
      unknown_errors: 1,
      last_report_at: MINUTE + 5000,
    });
  });

  it('adds a second write of the same instance and minute to the first, keeping the larger maxima', async () => {
    await store.upsert([
      bucket(A, [{ latencyMs: 300, receivedAt: MINUTE + 9000, cost: 0.5, totalTokens: 10 }], 4),
      bucket(B, [{ outcome: 'RATE_LIMITED' }]),
    ]);
    const second = bucket(A, [
      { latencyMs: 100, receivedAt: MINUTE + 2000, cost: 0.25, totalTokens: 5, ttftMs: 40 },
      { latencyMs: 100, receivedAt: MINUTE + 2000, ttftMs: -1 }, // not a time to first token: ignored
      { outcome: 'SERVER_ERROR', latencyMs: 50, receivedAt: MINUTE + 3000 },
    ]);
    second.addSelection(2);
    second.breakerState = 'OPEN';
    await store.upsert([second]);
    expect(await row(A)).toMatchObject({
      selections: 1,
      calls: 4,
      successes: 3,
      failures: 1,
      server_errors: 1,
      latency_sum_ms: 550,
      ttft_count: 1,
      ttft_sum_ms: 40,
      latency_max_ms: 300,
      max_open_leases: 4,
      last_report_at: MINUTE + 9000,
      total_tokens: 15,
      cost: 0.75,
      breaker_state: 'OPEN',
    });
    // The other instance's row is its own.
    expect(await row(B)).toMatchObject({ calls: 1, rate_limited: 1, successes: 0, client_errors: 0 });
  });

  it('writes nothing and succeeds for an empty flush', async () => {
    await store.upsert([]);
    const [{ n }] = await dataSource.query<{ n: unknown }[]>('SELECT COUNT(*) AS n FROM instance_metrics_minute');
    expect(Number(n)).toBe(0);
  });

  it('writes more rows than one statement holds, in one flush', async () => {
    const buckets = Array.from({ length: 450 }, (_, i) => {
      const b = new MinuteBucket(P, i.toString(16).padStart(32, '0'), MINUTE);
      b.addReport({ outcome: 'SUCCESS', latencyMs: 1, receivedAt: MINUTE }, 0);
      return b;
    });
    await store.upsert(buckets);
    const [{ n }] = await dataSource.query<{ n: unknown }[]>('SELECT SUM(calls) AS n FROM instance_metrics_minute');
    expect(Number(n)).toBe(450);
  });

  it('knows which projects still exist, and purges minutes before a time', async () => {
    expect(await store.existingProjects([])).toEqual(new Set());
    expect(await store.existingProjects([P, 'd'.repeat(32)])).toEqual(new Set([P]));
    await store.upsert([bucket(A, [{}])]);
    const later = new MinuteBucket(P, A, MINUTE + 60_000);
    later.addSelection(0);
    await store.upsert([later]);
    expect(await store.purgeBefore(MINUTE)).toBe(0);
    expect(await store.purgeBefore(MINUTE + 60_000)).toBe(1);
    const left: { minute_ts: unknown }[] = await dataSource.query('SELECT minute_ts FROM instance_metrics_minute');
    expect(left.map((r) => Number(r.minute_ts))).toEqual([MINUTE + 60_000]);
  });

  it("holds a row at every column's maximum, and adding to a full row stays at the maximum", async () => {
    const full = () => {
      const b = new MinuteBucket(P, A, MINUTE);
      b.values.set(ADDITIVE_COLUMN_MAX);
      return b;
    };
    await store.upsert([full()]);
    const stored = await row(A);
    ADDITIVE_COLUMNS.forEach((name, i) => expect([name, stored[name]]).toEqual([name, ADDITIVE_COLUMN_MAX[i]]));
    // The upsert adds, and stops at the column's maximum: MySQL's INT would refuse the bare sum, and
    // every later flush of that instance and minute with it.
    await store.upsert([full()]);
    const saturated = await row(A);
    ADDITIVE_COLUMNS.forEach((name, i) => expect([name, saturated[name]]).toEqual([name, ADDITIVE_COLUMN_MAX[i]]));
  });

  it('answers a ping while the database is up, and says false when it cannot reach it', async () => {
    expect(await store.ping()).toBe(true);
    const closed = new DataSource(dataSource.options);
    expect(await new MinuteMetricsStore(closed).ping()).toBe(false);
    // TypeORM logs the failed query on SQLite (a driver error on a closed source), not on MySQL.
    expect(nestLogs.take('warn', 'Query failed').length).toBeLessThanOrEqual(1);
  });
});

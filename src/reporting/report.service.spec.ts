import { GatewayMetrics } from '../prometheus/gateway-metrics';
import { InstanceStatsRegistry } from '../statistics/instance-stats-registry';
import type { SelectInstanceDto } from '../selection/dto/select-instance.dto';
import { prefixOf } from './report.service';
import {
  type DecisionLoop,
  OTHER_PROJECT_ID,
  PROJECT_ID,
  createDecisionLoop,
  gatewayErrorOf,
  instanceId,
  instanceRecord,
  projectPrincipal,
} from '../selection/testing/decision-loop.testing';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * ReportService over the real decision loop: what a report teaches is asserted through what the
 * next selection does (breakers, cool-downs, TPM), which lease it closed and which minute the
 * aggregator counted it in. Time is a FakeClock.
 */
describe('ReportService', () => {
  let loop: DecisionLoop;
  const project = projectPrincipal();

  beforeEach(async () => {
    loop = await createDecisionLoop();
  });
  afterEach(() => loop.close());

  const select = (request: Partial<SelectInstanceDto> = {}) =>
    loop.selection.select(project, { apiIdentifier: 'gpt-4o', apiType: 'MODEL', ...request });
  /** Reports once (a report that is not counted fails the test). */
  const report = (n: number, body: Parameters<DecisionLoop['reportOf']>[1] = {}) => {
    const ingested = loop.reports.report(project, loop.reportOf(n, body));
    if (ingested === undefined) throw new Error('the report was not counted');
    return ingested;
  };
  /** Whether the lease is still open (closing it to find out). */
  const stillOpen = (selectionId: string) => loop.leases.close(selectionId, PROJECT_ID) !== undefined;

  describe('ownership', () => {
    it("INSTANCE_NOT_FOUND for another project's instance, naming the field", () => {
      loop.register(instanceRecord(1), instanceRecord(2, { projectId: OTHER_PROJECT_ID }));
      for (const n of [2, 3]) {
        const error = gatewayErrorOf(() => report(n));
        expect(error.code).toBe('INSTANCE_NOT_FOUND');
        expect(error.details).toEqual([
          { field: 'instanceId', message: 'instanceId is not an instance of this project' },
        ]);
      }
    });

    it('reportAll is all or nothing, naming results.N.instanceId', () => {
      loop.register(instanceRecord(1), instanceRecord(2, { projectId: OTHER_PROJECT_ID }));
      const failures = Array.from({ length: 5 }, () => loop.reportOf(1, { success: false, statusCode: 503 }));
      const error = gatewayErrorOf(() => loop.reports.reportAll(project, [...failures, loop.reportOf(2)]));
      expect(error.code).toBe('INSTANCE_NOT_FOUND');
      expect(error.details).toEqual([
        { field: 'results.5.instanceId', message: 'results.5.instanceId is not an instance of this project' },
      ]);
      // None of the five failures was recorded: the breaker did not trip.
      expect(select().id).toBe(instanceId(1));
      expect(loop.reports.reportAll(project, failures).map((one) => one.outcome)).toEqual(
        Array(5).fill('SERVER_ERROR'),
      );
      expect(gatewayErrorOf(() => select()).code).toBe('NO_HEALTHY_INSTANCE');
    });
  });

  describe('idempotence and the businessId', () => {
    const windowOf = (n: number) =>
      loop.module.get(InstanceStatsRegistry).get(instanceId(n)).windowTotals(loop.clock.now());

    it('counts a selection once: a repeat is acknowledged, not counted, and keeps its lease closed', () => {
      loop.register(instanceRecord(1));
      const { selectionId } = select();
      const body = loop.reportOf(1, { selectionId, success: false, statusCode: 503 });
      expect(loop.reports.report(project, body)).toBeDefined();
      for (let i = 0; i < 9; i++) expect(loop.reports.report(project, body)).toBeUndefined();
      expect(windowOf(1)).toMatchObject({ calls: 1, failures: 1 });
      expect(loop.module.get(GatewayMetrics)['duplicateCell'].value).toBe(9);
      // Ten reports of one selection did not trip the breaker (five would have).
      expect(select().id).toBe(instanceId(1));
    });

    it('a batch counts a selection once, across batches and within one; reports without a selectionId all count', () => {
      loop.register(instanceRecord(1));
      const a = select().selectionId;
      const b = select().selectionId;
      expect(
        loop.reports.reportAll(project, [loop.reportOf(1, { selectionId: a }), loop.reportOf(1, { selectionId: a })]),
      ).toHaveLength(1);
      const again = [a, b, b].map((selectionId) => loop.reportOf(1, { selectionId }));
      expect(loop.reports.reportAll(project, again)).toHaveLength(1);
      expect(loop.reports.reportAll(project, [loop.reportOf(1), loop.reportOf(1)])).toHaveLength(2);
      expect(windowOf(1)).toMatchObject({ calls: 4 });
    });

    it("a selectionId is the project's own: another project's report of the same made-up id counts", () => {
      loop.register(instanceRecord(1), instanceRecord(2, { projectId: OTHER_PROJECT_ID }));
      const other = { ...project, projectId: OTHER_PROJECT_ID };
      expect(loop.reports.report(project, loop.reportOf(1, { selectionId: 'made-up' }))).toBeDefined();
      expect(loop.reports.report(other, loop.reportOf(2, { selectionId: 'made-up' }))).toBeDefined();
      expect(loop.reports.report(project, loop.reportOf(1, { selectionId: 'made-up' }))).toBeUndefined();
    });

    it("refuses a businessId that is not the instance's, naming the field; a batch records nothing", () => {
      loop.register(instanceRecord(1), instanceRecord(2));
      const wrong = loop.reportOf(1, { businessId: 'b2' });
      const error = gatewayErrorOf(() => loop.reports.report(project, wrong));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details).toEqual([
        { field: 'businessId', message: "businessId does not match the instance's businessId (b1)" },
      ]);
      const batch = gatewayErrorOf(() => loop.reports.reportAll(project, [loop.reportOf(2), wrong]));
      expect(batch.details).toEqual([expect.objectContaining({ field: 'results.1.businessId' })]);
      expect(windowOf(2)).toMatchObject({ calls: 0 });
    });
  });

  describe('closing leases', () => {
    it('closes the lease named by selectionId, not another', () => {
      loop.register(instanceRecord(1));
      const [first, second] = [select(), select()];
      report(1, { selectionId: second.selectionId });
      expect(loop.leases.openCount(instanceId(1))).toBe(1);
      expect(stillOpen(second.selectionId)).toBe(false);
      expect(stillOpen(first.selectionId)).toBe(true);
    });

    it("a selectionId of another project's lease closes nothing", () => {
      loop.register(instanceRecord(1));
      const foreign = loop.leases.open({ projectId: OTHER_PROJECT_ID, instanceId: instanceId(1), ttlMs: 60_000 });
      report(1, { selectionId: foreign.selectionId });
      expect(loop.leases.close(foreign.selectionId, OTHER_PROJECT_ID)).toBeDefined();
    });

    it('without selectionId: the newest lease opened by the callTimestamp', () => {
      loop.register(instanceRecord(1));
      const t0 = loop.clock.now();
      const leases = [0, 1, 2].map(() => {
        const lease = select();
        loop.clock.advance(10_000);
        return lease;
      });
      report(1, { callTimestamp: t0 + 15_000 });
      expect(leases.map((one) => stillOpen(one.selectionId))).toEqual([true, false, true]);
    });

    it('without selectionId: the oldest lease when the callTimestamp precedes them all or is implausible', () => {
      loop.register(instanceRecord(1));
      const t0 = loop.clock.now();
      const leases = [select(), select(), select()];
      loop.clock.advance(1_000);
      report(1, { callTimestamp: t0 - 1 });
      report(1, { callTimestamp: t0 + 2 * DAY_MS });
      expect(leases.map((one) => stillOpen(one.selectionId))).toEqual([false, false, true]);
    });
  });

  describe('what the protection learns', () => {
    it('5 SERVER_ERROR reports open the breaker: the next select skips the instance', () => {
      loop.register(instanceRecord(1), instanceRecord(2));
      for (let i = 0; i < 4; i++) report(1, { success: false, errorMessage: 'Request failed with status code 503' });
      const ids = new Set(Array.from({ length: 20 }, () => select().id));
      expect(ids.has(instanceId(1))).toBe(true);
      report(1, { success: false, errorMessage: 'Request failed with status code 503' });
      for (let i = 0; i < 20; i++) expect(select().id).toBe(instanceId(2));
    });

    it('CLIENT_ERROR reports are never held against the instance', () => {
      loop.register(instanceRecord(1));
      for (let i = 0; i < 20; i++) expect(report(1, { success: false, statusCode: 400 }).outcome).toBe('CLIENT_ERROR');
      expect(select().id).toBe(instanceId(1));
    });

    it("RATE_LIMITED cools the instance down for the report's retryAfterMs", () => {
      loop.register(instanceRecord(1));
      expect(report(1, { success: false, statusCode: 429, retryAfterMs: 10_000 }).outcome).toBe('RATE_LIMITED');
      const error = gatewayErrorOf(() => select());
      expect(error.code).toBe('QUOTA_EXHAUSTED');
      expect(error.details).toMatchObject({ retryAfterMs: 10_000 });
      loop.clock.advance(9_999);
      expect(gatewayErrorOf(() => select()).code).toBe('QUOTA_EXHAUSTED');
      loop.clock.advance(1);
      expect(select().id).toBe(instanceId(1));
    });

    it('RATE_LIMITED without retryAfterMs reads the Retry-After in the message', () => {
      loop.register(instanceRecord(1));
      report(1, { success: false, errorMessage: '429 Too Many Requests. Please retry after 6 seconds.' });
      expect(gatewayErrorOf(() => select()).details).toMatchObject({ retryAfterMs: 6_000 });
    });

    it('TPM: the reported usage replaces the reservation', () => {
      loop.register(instanceRecord(1, { routingParams: { tpmLimit: 1_000 } }));
      const first = select({ estimatedTokens: 900 });
      expect(gatewayErrorOf(() => select({ estimatedTokens: 200 })).code).toBe('QUOTA_EXHAUSTED');
      loop.clock.advance(2_000);
      report(1, { selectionId: first.selectionId, usageMetrics: { promptTokens: 60, completionTokens: 40 } });
      select({ estimatedTokens: 800 }); // 100 used + 800 reserved
      expect(gatewayErrorOf(() => select({ estimatedTokens: 200 })).code).toBe('QUOTA_EXHAUSTED');
    });
  });

  describe('raw provider error bodies', () => {
    const truncated = () => loop.module.get(GatewayMetrics)['truncatedCells'];

    it('keeps the first 2048 characters of errorMessage, classifies on them, and counts the cut', () => {
      loop.register(instanceRecord(1));
      const page = `<html><head><title>502 Bad Gateway</title></head><body>${'<p>retry</p>'.repeat(700)}</body></html>`;
      const ingested = report(1, { success: false, errorMessage: page });
      expect(ingested.outcome).toBe('SERVER_ERROR');
      expect(ingested.report.errorMessage).toBe(page.slice(0, 2048));
      expect(truncated().errorMessage.value).toBe(1);
      // What lies beyond the prefix is not read: UNKNOWN, not RATE_LIMITED.
      expect(report(1, { success: false, errorMessage: `${' '.repeat(2048)}429 rate limit` }).outcome).toBe('UNKNOWN');
      expect(truncated().errorMessage.value).toBe(2);
    });

    it('keeps the first 256 characters of errorType and classifies on them', () => {
      loop.register(instanceRecord(1));
      const type = `RateLimitError${'$'.repeat(300)}`;
      const ingested = report(1, { success: false, errorType: type });
      expect(ingested.outcome).toBe('RATE_LIMITED');
      expect(ingested.report.errorType).toBe(type.slice(0, 256));
      expect(truncated()).toMatchObject({ errorMessage: { value: 0 }, errorType: { value: 1 } });
    });

    it('passes a report within the bounds on as it came, counting nothing', () => {
      loop.register(instanceRecord(1));
      const body = loop.reportOf(1, { success: false, errorMessage: 'x'.repeat(2048), errorType: 'y'.repeat(256) });
      expect(loop.reports.report(project, body)?.report).toBe(body);
      expect(truncated()).toMatchObject({ errorMessage: { value: 0 }, errorType: { value: 0 } });
    });

    it('never cuts a surrogate pair in half', () => {
      expect(prefixOf('ab😀', 3)).toBe('ab');
      expect(prefixOf('ab😀', 4)).toBe('ab😀');
      expect(prefixOf('abc', 2)).toBe('ab');
    });
  });

  describe('minute metrics', () => {
    const minuteOf = (at: number) => at - (at % MINUTE_MS);
    const writtenCalls = async () => {
      await loop.minutes.flush(true);
      return loop.store.written.filter((row) => row.calls > 0).map(({ minute, calls }) => ({ minute, calls }));
    };

    it('counts a report in the minute of its callTimestamp when plausible', async () => {
      loop.register(instanceRecord(1));
      const now = loop.clock.now();
      const ingested = report(1, { callTimestamp: now - 3 * MINUTE_MS });
      expect(ingested).toMatchObject({ at: now - 3 * MINUTE_MS, receivedAt: now });
      expect(await writtenCalls()).toEqual([{ minute: minuteOf(now - 3 * MINUTE_MS), calls: 1 }]);
    });

    it('counts it at arrival when the callTimestamp is more than a day back or 5 minutes ahead', async () => {
      loop.register(instanceRecord(1));
      const now = loop.clock.now();
      expect(report(1, { callTimestamp: now - DAY_MS - 1 }).at).toBe(now);
      expect(report(1, { callTimestamp: now + 5 * MINUTE_MS + 1 }).at).toBe(now);
      expect(report(1, { callTimestamp: now + 5 * MINUTE_MS }).at).toBe(now + 5 * MINUTE_MS);
      const rows = await writtenCalls();
      expect(rows).toHaveLength(2);
      expect(rows).toEqual(
        expect.arrayContaining([
          { minute: minuteOf(now), calls: 2 },
          { minute: minuteOf(now + 5 * MINUTE_MS), calls: 1 },
        ]),
      );
    });
  });
});

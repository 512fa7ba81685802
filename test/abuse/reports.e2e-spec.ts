import { GatewayMetrics } from '../../src/prometheus/gateway-metrics';
import { createProject, type TestProject } from '../utils/fixtures';
import { modelInstance, postReport, registerInstances, withBusinessId } from '../utils/hot-path';
import { parsePrometheus } from '../utils/prometheus-text';
import { createTestApp, type TestApp } from '../utils/test-app';

/** A CDN's 502 page as AgentX's Java client passes it on: the provider's raw body, ~8 KB. */
const CDN_502_PAGE =
  '<!DOCTYPE html>\n<html lang="en-US"><head><title>example.com | 502: Bad gateway</title>' +
  '<meta charset="UTF-8" /><style>' +
  'body{margin:0;padding:0}'.repeat(300) +
  '</style></head><body><div id="cf-wrapper"><h1>Bad gateway</h1><span>Error code 502</span>' +
  '<p>The web server reported a bad gateway error.</p>' +
  '<p>Please try again in a few minutes.</p>'.repeat(20) +
  '</div></body></html>';

/** What a Spring client puts in `errorType`: the exception's class name, longer than the old 64-character cap. */
const SPRING_503 = 'org.springframework.web.client.HttpServerErrorException$ServiceUnavailable';

/**
 * Issue #15, "limits must stop abuse, not the real client": AgentX passes the provider's raw error
 * body as `errorMessage` (a CDN's 502 page is ~8 KB) and an exception class name as `errorType`.
 * Both were rejected with 400, so the failure was never counted and the breaker stayed closed. A
 * report is never rejected for a long message or type: a bounded prefix is kept and classified.
 */
describe('abuse: reports with raw provider error bodies', () => {
  let gateway: TestApp;
  let project: TestProject;
  let ids: Record<string, string>;

  const report = (instanceId: string, extra: Record<string, unknown>) => ({
    instanceId,
    success: false,
    latencyMs: 900,
    callTimestamp: gateway.clock.now(),
    ...extra,
  });
  const breakerOf = async (instanceId: string): Promise<{ state: string; reason: string | null }> => {
    const res = await gateway.http().get(`/api/instances/${instanceId}/health`).set('api-key', project.apiKey);
    expect(res.status).toBe(200);
    return res.body.data.breaker as { state: string; reason: string | null };
  };
  const serverErrors = async (): Promise<number> => {
    const families = parsePrometheus(await gateway.app.get(GatewayMetrics).metrics());
    const reports = families.find((family) => family.name === 'gateway_reports_total');
    return Number(reports?.metrics.find((sample) => sample.labels?.outcome === 'SERVER_ERROR')?.value ?? 0);
  };

  beforeAll(async () => {
    gateway = await createTestApp();
    project = await createProject(gateway, 'AgentX');
    ids = await registerInstances(gateway, project, [
      modelInstance('single'),
      modelInstance('batched'),
      modelInstance('typed'),
      modelInstance('huge'),
    ]);
  });
  afterAll(() => gateway.close());

  it('accepts an 8 KB CDN error page as errorMessage, classifies it, and five of them open the breaker', async () => {
    expect(CDN_502_PAGE.length).toBeGreaterThan(8000);
    const before = await serverErrors();
    for (let i = 0; i < 5; i++) {
      const res = await postReport(gateway, project, report(ids.single, { errorMessage: CDN_502_PAGE }));
      expect(res.status).toBe(200);
    }
    expect(await serverErrors()).toBe(before + 5);
    expect(await breakerOf(ids.single)).toMatchObject({ state: 'OPEN', reason: '5 consecutive SERVER_ERROR' });
  });

  it('accepts the same bodies in a batch (report-results)', async () => {
    const results = Array.from({ length: 5 }, () => report(ids.batched, { errorMessage: CDN_502_PAGE }));
    const res = await gateway
      .http()
      .post('/api/gateway/report-results')
      .set('api-key', project.apiKey)
      .send({ results: results.map((result) => withBusinessId(gateway, result)) });
    expect(res.status).toBe(200);
    expect(await breakerOf(ids.batched)).toMatchObject({ state: 'OPEN' });
  });

  it('accepts a long exception class name as errorType and classifies it', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await postReport(gateway, project, report(ids.typed, { errorType: SPRING_503 }));
      expect(res.status).toBe(200);
    }
    expect(await breakerOf(ids.typed)).toMatchObject({ state: 'OPEN', reason: '5 consecutive SERVER_ERROR' });
    const huge = await postReport(gateway, project, report(ids.typed, { errorType: `E${'x'.repeat(20_000)}` }));
    expect(huge.status).toBe(200);
  });

  it('classifies a long message on its prefix only: what comes after it is not read', async () => {
    // "429 Too Many Requests" after the prefix would make it RATE_LIMITED (a cool-down, no breaker):
    // read on its prefix alone it says nothing, so it is UNKNOWN, which counts against the breaker.
    const message = `${'.'.repeat(5000)} 429 Too Many Requests`;
    for (let i = 0; i < 5; i++) {
      expect((await postReport(gateway, project, report(ids.huge, { errorMessage: message }))).status).toBe(200);
    }
    expect(await breakerOf(ids.huge)).toMatchObject({ state: 'OPEN', reason: '5 consecutive UNKNOWN' });
  });

  it('answers a body beyond the body limit with 413 in the envelope, not a 5xx', async () => {
    const res = await postReport(gateway, project, report(ids.huge, { errorMessage: 'x'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 413 });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECURITY_HEADERS } from '../../src/common/security-headers';
import { buildOpenApiDocument } from '../../src/common/swagger';
import { loadDashboardAssets } from '../../src/dashboard/dashboard-assets';
import { DashboardModule } from '../../src/dashboard/dashboard.module';
import { createTestApp, type TestApp } from '../utils/test-app';

describe('dashboard: serving', () => {
  let gateway: TestApp;
  let assets: string;

  beforeAll(async () => {
    gateway = await createTestApp({ extra: { imports: [DashboardModule] } });
    const page = await gateway.http().get('/api/dashboard').expect(200);
    assets = /href="(\/api\/dashboard\/assets\/[0-9a-f]{12})\/dashboard\.css"/.exec(page.text)?.[1] ?? '';
  });
  afterAll(() => gateway.close());

  it.each(['/api/dashboard', '/api/dashboard/'])('%s is the page, revalidated on every load', async (path) => {
    const res = await gateway.http().get(path).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(SECURITY_HEADERS['content-security-policy']);
    expect(res.text).toContain('<script type="module" src="/api/dashboard/assets/');
    expect(res.text).not.toContain('{{assets}}');
    // No inline script and no third-party origin: the CSP allows neither.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/(src|href)="https?:/);
    const again = await gateway.http().get(path).set('if-none-match', String(res.headers.etag)).expect(304);
    expect(again.text).toBe('');
    // A browser applies a 304's CSP to the page it revalidated: it must be the page's own.
    expect(again.headers['content-security-policy']).toBe(SECURITY_HEADERS['content-security-policy']);
  });

  it('serves the versioned assets with a year of caching, and uPlot from its npm package', async () => {
    expect(assets).not.toBe('');
    const app = await gateway.http().get(`${assets}/app.js`).expect(200);
    expect(app.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(app.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const uplot = await gateway.http().get(`${assets}/vendor/uPlot.iife.min.js`).expect(200);
    expect(uplot.text).toBe(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    const css = await gateway.http().get(`${assets}/vendor/uPlot.min.css`).expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it.each([
    ['a missing asset', (base: string) => `${base}/nope.js`],
    ['another version', () => '/api/dashboard/assets/000000000000/app.js'],
    ['another file of the uPlot package', (base: string) => `${base}/vendor/uPlot.esm.js`],
    ['a way out of the folder', (base: string) => `${base}/..%2f..%2fdashboard.module.ts`],
  ])('answers 404 in the error envelope for %s', async (_case, url) => {
    const res = await gateway.http().get(url(assets)).expect(404);
    expect(res.body).toMatchObject({ code: 404, error: expect.any(String), requestId: expect.any(String) });
  });

  it('answers other methods with 405 and Allow', async () => {
    const res = await gateway.http().post('/api/dashboard').send({}).expect(405);
    expect(res.headers.allow).toContain('GET');
  });

  it('stays out of the OpenAPI document: the page is not part of the API', () => {
    const paths = Object.keys(buildOpenApiDocument(gateway.app).paths);
    expect(paths.filter((path) => path.startsWith('/api/dashboard'))).toEqual([]);
  });

  it('refuses to start without its files, naming the folder', () => {
    expect(() => loadDashboardAssets('/nonexistent/public')).toThrow(
      /Dashboard files not found in \/nonexistent\/public/,
    );
  });

  it('ships every script and style the page links from the folder nest build copies', () => {
    const html = readFileSync(join(__dirname, '..', '..', 'src', 'dashboard', 'public', 'index.html'), 'utf8');
    const linked = [...html.matchAll(/(?:src|href)="\{\{assets\}\}\/([^"]+)"/g)].map((match) => match[1]);
    expect(linked).toEqual(['vendor/uPlot.min.css', 'dashboard.css', 'vendor/uPlot.iife.min.js', 'app.js']);
    const cli = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nest-cli.json'), 'utf8')) as {
      compilerOptions: { assets: { include: string }[] };
    };
    expect(cli.compilerOptions.assets).toContainEqual(expect.objectContaining({ include: 'dashboard/public/**/*' }));
  });
});

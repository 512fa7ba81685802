import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { describeWhenAvailable } from '../utils/requirements';

/** Debian's chromium by default; `.ci/run` installs it when missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARTIFACTS_DIR = join(__dirname, '..', '..', 'test-artifacts', 'dashboard');
const DOCS_SCREENSHOTS_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * `describe` when Chromium is there. Without it: a failing suite on CI (`CI=true`), where a missing
 * browser must not pass unnoticed, and a skipped one with the reason elsewhere.
 */
export function describeInBrowser(name: string, suite: () => void): void {
  const missing = existsSync(CHROMIUM_PATH)
    ? []
    : [`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`];
  describeWhenAvailable(name, missing, suite);
}

/** Headless Chromium with a fresh profile (Playwright creates and removes a temporary one). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
}

/** Everything the page did wrong: console errors, uncaught exceptions, and failed requests not expected. */
export class PageProblems {
  private readonly problems: string[] = [];
  private readonly allowed: RegExp[] = [];

  constructor(page: Page) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => this.problems.push(`request failed: ${request.url()}`));
    page.on('response', (response) => {
      const line = `${response.request().method()} ${new URL(response.url()).pathname} → ${response.status()}`;
      if (response.status() >= 400 && !this.allowed.some((pattern) => pattern.test(line))) this.problems.push(line);
    });
  }

  /** A failing response the test provokes on purpose, e.g. `/^POST \/api\/admin\/auth\/login → 401$/`. */
  allow(pattern: RegExp): void {
    this.allowed.push(pattern);
  }

  list(): string[] {
    // Chromium also logs each failing response to the console; the response listener judges those.
    return this.problems.filter((line) => !line.startsWith('console: Failed to load resource'));
  }
}

/** Screenshots are taken on request only (`npm run screenshots`), never by `npm test`. */
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS === 'true';

/**
 * With `DASHBOARD_SCREENSHOTS=true` (`npm run screenshots`): a screenshot in test-artifacts/dashboard
 * (the whole page unless `fullPage: false`, e.g. for a modal dialog), copied to docs/screenshots
 * when `docs` is set. Otherwise nothing, so a test run leaves the tracked images alone.
 */
export async function screenshot(
  page: Page,
  name: string,
  options: { docs?: boolean; fullPage?: boolean } = {},
): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  if (options.docs) {
    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    copyFileSync(path, join(DOCS_SCREENSHOTS_DIR, `dashboard-${name}.png`));
  }
}

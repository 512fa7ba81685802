import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Where the page lives; the global `api` prefix does not apply to routes outside Nest. */
export const DASHBOARD_PATH = '/api/dashboard';

/** The only files of the uPlot package the gateway serves. */
export const VENDOR_FILES: ReadonlySet<string> = new Set(['uPlot.iife.min.js', 'uPlot.min.css']);

/** Replaced in `index.html` by the versioned assets URL, e.g. `/api/dashboard/assets/3f9c0a1b2c4d`. */
const ASSETS_PLACEHOLDER = /\{\{assets\}\}/g;

/** The dashboard's files on disk and the page that points at them. */
export interface DashboardAssets {
  /** Content hash of every served asset: a new build gets new URLs, so assets can be cached forever. */
  readonly version: string;
  /** URL prefix of the versioned assets, e.g. `/api/dashboard/assets/3f9c0a1b2c4d`. */
  readonly assetsPath: string;
  /** The page's own scripts and styles (`public/assets`). */
  readonly assetsDir: string;
  /** uPlot's `dist` folder, resolved through the package so it works from src and dist alike. */
  readonly vendorDir: string;
  readonly indexHtml: string;
  readonly indexEtag: string;
}

/**
 * Reads the dashboard's files once, at start-up. `publicDir` defaults to `public/` beside this file:
 * `src/dashboard/public` under ts-jest, `dist/dashboard/public` after `nest build` (copied by the
 * `assets` entry of nest-cli.json).
 */
export function loadDashboardAssets(publicDir: string = join(__dirname, 'public')): DashboardAssets {
  const indexFile = join(publicDir, 'index.html');
  if (!existsSync(indexFile)) {
    throw new Error(
      `Dashboard files not found in ${publicDir}: the build must copy src/dashboard/public (nest-cli.json "assets")`,
    );
  }
  const assetsDir = join(publicDir, 'assets');
  const vendorDir = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const hash = createHash('sha256');
  for (const file of filesUnder(assetsDir)) hash.update(relative(assetsDir, file)).update(readFileSync(file));
  for (const name of [...VENDOR_FILES].sort()) hash.update(name).update(readFileSync(join(vendorDir, name)));
  const version = hash.digest('hex').slice(0, 12);
  const assetsPath = `${DASHBOARD_PATH}/assets/${version}`;
  const indexHtml = readFileSync(indexFile, 'utf8').replace(ASSETS_PLACEHOLDER, assetsPath);
  const indexEtag = `"${createHash('sha256').update(indexHtml).digest('hex').slice(0, 16)}"`;
  return { version, assetsPath, assetsDir, vendorDir, indexHtml, indexEtag };
}

/** Every file below `dir`, sorted, so the version does not depend on directory order. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort((a, b) => a.split(sep).join('/').localeCompare(b.split(sep).join('/')));
}

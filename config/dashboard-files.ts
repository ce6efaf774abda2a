/**
 * The dashboard's files, declared once: the local runtime serves them (local/dashboard-files.ts) and the CDK
 * app uploads them to the dashboard bucket (lib/eddy-dashboard.ts), under the same paths.
 *
 * The dashboard is plain ES modules in `dashboard/`: nothing to build. uPlot, its chart library, is a
 * dependency; its browser build is served from node_modules as `vendor/uplot/...`, never copied into the
 * repository.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The dashboard's own files: `index.html`, its modules and its style sheet. */
export const DASHBOARD_DIR = path.resolve(import.meta.dirname, '..', 'dashboard');

/** Files from dependencies, by the path the dashboard imports them from (relative to `index.html`). */
export const DASHBOARD_VENDOR_FILES: Readonly<Record<string, string>> = {
  'vendor/uplot/uPlot.esm.js': require.resolve('uplot/dist/uPlot.esm.js'),
  'vendor/uplot/uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

/**
 * Written beside `index.html` on AWS with the API's URL, so a user enters only the API key. The local runtime
 * answers it with `apiUrl: null`: the API is on the dashboard's own origin.
 */
export const DASHBOARD_CONFIG_FILE = 'config.json';

export interface DashboardConfig {
  /** Base URL of the API, ending in `/`; null for the dashboard's own origin. */
  readonly apiUrl: string | null;
}

/**
 * The dashboard's Content-Security-Policy: its own files only, no inline script or style, and requests to
 * itself and to the API (`apiOrigin`, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`; null when the
 * API is on the dashboard's origin). uPlot styles its elements through the DOM, which `style-src 'self'`
 * allows.
 */
export function dashboardContentSecurityPolicy(apiOrigin: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${apiOrigin === null ? '' : ` ${apiOrigin}`}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

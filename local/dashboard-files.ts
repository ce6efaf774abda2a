/**
 * The dashboard on the local runtime's port: `GET /` redirects to `/dashboard/`, which serves `dashboard/`
 * and uPlot from node_modules (config/dashboard-files.ts). Same origin as the API, so the browser needs no
 * CORS, and no API key unless the runtime was started with `--api-key`.
 */
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import {
  DASHBOARD_CONFIG_FILE,
  DASHBOARD_DIR,
  DASHBOARD_VENDOR_FILES,
  type DashboardConfig,
  dashboardContentSecurityPolicy,
} from '../config/dashboard-files.ts';

const PREFIX = '/dashboard/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/** A file name in `dashboard/` (no folders, no dot files): nothing outside it can be named. */
const OWN_FILE = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

/**
 * Answers a dashboard request and returns true, or returns false for any other path (the API's). Only GET and
 * HEAD: every other method on these paths falls through to the API router, which answers 404.
 */
export async function serveDashboard(req: http.IncomingMessage, res: http.ServerResponse, pathname: string) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (pathname === '/' || pathname === '/dashboard') {
    res.writeHead(302, { Location: PREFIX, 'Content-Length': 0 });
    res.end();
    return true;
  }
  if (!pathname.startsWith(PREFIX)) return false;
  const name = pathname.slice(PREFIX.length) || 'index.html';
  if (name === DASHBOARD_CONFIG_FILE) {
    const config: DashboardConfig = { apiUrl: null };
    send(req, res, 200, '.json', Buffer.from(JSON.stringify(config)));
    return true;
  }
  const file = DASHBOARD_VENDOR_FILES[name] ?? (OWN_FILE.test(name) ? path.join(DASHBOARD_DIR, name) : undefined);
  const body = file === undefined ? undefined : await readFile(file).catch(() => undefined);
  if (body === undefined) {
    send(req, res, 404, '.json', Buffer.from(JSON.stringify({ message: 'Not Found' })));
    return true;
  }
  send(req, res, 200, path.extname(name), body);
  return true;
}

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, ext: string, body: Buffer) {
  res.writeHead(status, {
    'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'Content-Length': body.length,
    // Edits to dashboard/ show on the next reload.
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    // As CloudFront sends it (lib/eddy-dashboard.ts), so a violation shows here first.
    'Content-Security-Policy': dashboardContentSecurityPolicy(null),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_DIR, DASHBOARD_VENDOR_FILES } from '../../config/dashboard-files.ts';
import { type LocalApi, type ProxyHandler, startLocalApi } from '../../local/http-server.ts';
import { quiet } from './emulated-stream.ts';

const apis: LocalApi[] = [];

afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

/** GIVEN the local API, with handlers that record what reaches them. */
async function startApi(options: { apiKey?: string } = {}) {
  const events: APIGatewayProxyEvent[] = [];
  const recording: ProxyHandler = async (event) => {
    events.push(event);
    return { statusCode: 200, body: '{}' };
  };
  const api = await startLocalApi({
    handlers: { ingest: recording, query: recording },
    port: 0,
    log: quiet,
    ...options,
  });
  apis.push(api);
  return { api, events };
}

describe('the dashboard on the local API', () => {
  it('redirects / to /dashboard/', async () => {
    const { api } = await startApi();

    const res = await fetch(`${api.url}/`, { redirect: 'manual' });

    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/dashboard/');
  });

  it('serves index.html at /dashboard/ with the Content-Security-Policy CloudFront sends, minus the API origin', async () => {
    const { api } = await startApi();

    const res = await fetch(`${api.url}/dashboard/`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(await res.text()).toBe(await readFile(path.join(DASHBOARD_DIR, 'index.html'), 'utf8'));
  });

  it("serves uPlot's browser build from node_modules as a JavaScript module", async () => {
    const { api } = await startApi();

    const res = await fetch(`${api.url}/dashboard/vendor/uplot/uPlot.esm.js`);

    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toBe(await readFile(DASHBOARD_VENDOR_FILES['vendor/uplot/uPlot.esm.js']!, 'utf8'));
  });

  it('answers config.json with no API URL: the API is on the same origin', async () => {
    const { api } = await startApi();

    const res = await fetch(`${api.url}/dashboard/config.json`);

    expect(await res.json()).toEqual({ apiUrl: null });
  });

  it('needs no API key for its files when the API does', async () => {
    const { api } = await startApi({ apiKey: 'k' });

    const res = await fetch(`${api.url}/dashboard/main.js`);

    expect(res.status).toBe(200);
  });

  it.each([
    '/dashboard/..%2Fpackage.json',
    '/dashboard/.env',
    '/dashboard/vendor/uplot/uPlot.cjs.js',
    '/dashboard/nope.js',
  ])('answers 404 for %s, a file it does not serve', async (file) => {
    const { api } = await startApi();

    const res = await fetch(`${api.url}${file}`);

    expect(res.status).toBe(404);
  });

  it('leaves other methods on its paths to the API router, which invokes nothing', async () => {
    const { api, events } = await startApi();

    const res = await fetch(`${api.url}/dashboard/`, { method: 'POST', body: '{}' });

    expect(res.status).toBe(404);
    expect(events).toHaveLength(0);
  });
});

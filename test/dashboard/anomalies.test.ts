/**
 * The dashboard of a view with an anomaly detector, in a real browser against the local runtime: the spike
 * the detector reported is in the Anomalies list, and marked on the chart, on the line of its group. A file
 * of its own: a process runs one pipeline with the real handlers, and dashboard.test.ts's has the default
 * views. Saves a screenshot to test-results/dashboard/anomalies.png.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, PROJECT_DIR } from '../../local/pipeline.ts';
import { SPIKE, startAnomalyPipeline } from './anomaly-pipeline.ts';
import { launchChromium } from './browser.ts';

let pipeline: LocalPipeline;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [pipeline, browser] = await Promise.all([startAnomalyPipeline(), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(`${pipeline.url}/`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
});

const spikeTime = new Date(SPIKE.windowStart).toISOString().slice(11, 19);

describe('a view with an anomaly detector', () => {
  it('lists the reported anomaly: its window, group, value and expected range', async () => {
    await expect.poll(() => page.locator('#anomalies tr td.group').count(), { timeout: 20_000 }).toBe(1);
    const cells = await page.locator('#anomalies tr').first().locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual([
      `${spikeTime}–${new Date(SPIKE.windowStart + 1_000).toISOString().slice(11, 19)}`,
      `shop=${SPIKE.shop}`,
      `▲ ${SPIKE.orders}`,
    ]);
    expect(cells[3]).toMatch(/^[\d.]+–[\d.]+$/);
    expect(await page.locator('#anomalies-detector').textContent()).toBe('robust detector on count');
  });

  it("marks it on the chart, on its group's line, with the expected range beside it", async () => {
    await expect.poll(() => page.locator('#chart .anomaly-marker').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('#chart .anomaly-marker').getAttribute('title')).toMatch(
      new RegExp(`^shop=${SPIKE.shop} at ${spikeTime} UTC: count ${SPIKE.orders}, expected [\\d.]+–[\\d.]+ \\(score`),
    );
    expect(await page.locator('#chart .anomaly-range').count()).toBe(1);
    // The spiky shop is charted because of its anomaly, whether or not it is among the top groups now.
    expect(await page.locator('#chart .u-legend .u-series').allTextContents()).toContainEqual(
      expect.stringContaining(`shop=${SPIKE.shop}`),
    );
    const png = await page.screenshot({ fullPage: true });
    const file = path.join(PROJECT_DIR, 'test-results', 'dashboard', 'anomalies.png');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, png);
  });

  it('logged no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against the local runtime
 * started in-process with the real handlers and emulators. An auction stream is loaded over HTTP; the
 * page must draw its chart, show counters that move as more events arrive, mark final and provisional
 * windows, and switch views. The last test saves a screenshot to test-results/dashboard/ (and, with
 * UPDATE_SCREENSHOT=1, to docs/dashboard.png, which the README shows).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../lambdas/core/random.ts';
import { type LocalPipeline, PROJECT_DIR } from '../../local/pipeline.ts';
import { Api, startPipeline } from '../e2e/support.ts';
import { launchChromium } from './browser.ts';

const EVENTS_PER_SECOND = 10;
type AuctionEvent = Record<string, string | number>;

let pipeline: LocalPipeline;
let api: Api;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/**
 * An auction stream with a few hot auctions (weights 1/rank), so each 10 s window has a clear top few: bids
 * mostly, a person now and then. Event time runs from `startMs` at EVENTS_PER_SECOND; seeded, so the
 * screenshot shows the same shapes on every run.
 */
function* auctionStream(startMs: number): Generator<AuctionEvent> {
  const random = mulberry32(11);
  const weights = Array.from({ length: 12 }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = () => {
    let r = random() * total;
    for (let i = 0; i < weights.length - 1; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  };
  for (let i = 0; ; i++) {
    const dateTime = startMs + Math.floor((i * 1000) / EVENTS_PER_SECOND);
    if (i % 20 === 0) {
      yield { type: 'person', state: ['OR', 'WA', 'CA', 'ID'][Math.floor(random() * 4)]!, dateTime };
      continue;
    }
    yield {
      type: 'bid',
      auction: 1000 + pick(),
      bidder: Math.floor(random() * 300),
      channel: ['web', 'app', 'api'][Math.floor(random() * 3)]!,
      price: 10 + Math.floor(random() * 490),
      dateTime,
    };
  }
}
// A minute of event time up to now, so several windows are final and the latest ones provisional.
const stream = auctionStream(Date.now() - 60_000);
const take = (n: number) => Array.from({ length: n }, () => stream.next().value as AuctionEvent);

async function send(events: AuctionEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    expect((await api.post(events.slice(i, i + 500))).status).toBe(202);
  }
}

beforeAll(async () => {
  [pipeline, browser] = await Promise.all([
    // One shard: every POST moves the one watermark, so windows turn final as the stream goes.
    startPipeline({ shards: 1 }),
    launchChromium(),
  ]);
  api = new Api(pipeline);
  await send(take(60 * EVENTS_PER_SECOND));
  // The first batches publish every window the minute holds: on a busy machine that outlasts one wait.
  for (let attempt = 1; ; attempt++) {
    try {
      await api.drained();
      break;
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
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

const text = (selector: string) => page.locator(selector).first().textContent();

describe('the dashboard served by the local runtime at /', () => {
  it('opens on the first view and draws the chart of its top groups', async () => {
    await page.locator('#chart canvas').first().waitFor({ state: 'visible', timeout: 20_000 });
    expect(page.url()).toBe(`${pipeline.url}/dashboard/`);
    expect(await text('#view-tabs [aria-selected="true"]')).toBe('bids_per_auction');
    // The series of the charted groups are in the chart's legend.
    expect(await page.locator('#chart .u-legend .u-series').count()).toBeGreaterThan(1);
  });

  it('lists the top groups of the current window, at most 10', async () => {
    await expect.poll(() => page.locator('#top-groups tr').count(), { timeout: 20_000 }).toBe(10);
    expect(await text('#top-groups tr td.group')).toMatch(/^auction=\d+$/);
  });

  it('marks the latest windows final or provisional', async () => {
    await expect.poll(() => page.locator('#windows .badge.final').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await page.locator('#windows .badge.provisional').count()).toBeGreaterThan(0);
  });

  it('shows the pipeline counters and the watermark, and the counters move as events arrive', async () => {
    await expect
      .poll(() => text('#accepted'), { timeout: 20_000 })
      .toBe((60 * EVENTS_PER_SECOND).toLocaleString('en-US'));
    expect(await text('#watermark')).toMatch(/^\d\d:\d\d:\d\d UTC$/);
    expect(await text('#shards tr td')).toBe('shardId-000000000000');

    await send(take(5 * EVENTS_PER_SECOND));
    await expect
      .poll(() => text('#accepted'), { timeout: 20_000 })
      .toBe((65 * EVENTS_PER_SECOND).toLocaleString('en-US'));
    // Throughput is measured from the counters the page read: accepted moved, so events/s did too.
    await expect
      .poll(async () => Number((await text('#rate'))?.replaceAll(',', '')), { timeout: 20_000 })
      .toBeGreaterThan(0);
  });

  it('switches to another view: its tab, its measures, its groups', async () => {
    await page.getByRole('tab', { name: 'hot_auctions' }).click();
    expect(await text('#view-tabs [aria-selected="true"]')).toBe('hot_auctions');
    expect(await page.locator('#measure option').allTextContents()).toEqual(['count']);
    // hot_auctions has no groupBy: one group, all events.
    await expect.poll(() => text('#top-groups tr td.group'), { timeout: 20_000 }).toBe('all events');
    await page.locator('#chart canvas').first().waitFor({ state: 'visible' });
  });

  it('says why a session view has no top groups', async () => {
    await page.getByRole('tab', { name: 'bidder_sessions' }).click();
    await expect.poll(() => text('#view-note'), { timeout: 5_000 }).toMatch(/^bidder_sessions has session windows/);
  });

  it('saves a screenshot of a view with live data', async () => {
    await page.getByRole('tab', { name: 'bids_per_auction' }).click();
    await expect.poll(() => page.locator('#top-groups tr').count(), { timeout: 20_000 }).toBe(10);
    await page.locator('#chart canvas').first().waitFor({ state: 'visible' });
    // Into the test output on every run; into the README's docs/dashboard.png only when asked
    // (UPDATE_SCREENSHOT=1), so a test run leaves the working tree as it found it.
    const outputs = [
      path.join(PROJECT_DIR, 'test-results', 'dashboard', 'dashboard.png'),
      ...(process.env.UPDATE_SCREENSHOT === '1' ? [path.join(PROJECT_DIR, 'docs', 'dashboard.png')] : []),
    ];
    await mkdir(path.dirname(outputs[0]!), { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    for (const file of outputs) await writeFile(file, png);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('logged no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

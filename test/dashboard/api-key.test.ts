/**
 * The dashboard's credentials: against a local runtime started with --api-key (as on AWS with -c auth=apiKey)
 * it asks for the key once and keeps it in the browser's storage.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { startPipeline } from '../e2e/support.ts';
import { launchChromium } from './browser.ts';

const API_KEY = 'dashboard-test-key';
let keyed: LocalPipeline;
let browser: Browser;
let keyedPage: Page;

beforeAll(async () => {
  [keyed, browser] = await Promise.all([startPipeline({ shards: 1, apiKey: API_KEY }), launchChromium()]);
  keyedPage = await browser.newPage();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await keyed?.stop();
});

describe('the dashboard against a runtime started with --api-key', () => {
  it('asks for the API key when the API answers 403, keeps it in the browser, and connects with it', async () => {
    await keyedPage.goto(`${keyed.url}/`);
    await keyedPage.locator('#settings[open]').waitFor({ timeout: 20_000 });
    expect(await keyedPage.locator('#settings-message').textContent()).toBe(
      'The API answered 403 (Forbidden). It needs an API key (x-api-key).',
    );

    await keyedPage.fill('#settings-key', API_KEY);
    await keyedPage.click('#settings-save');
    await expect.poll(() => keyedPage.locator('#connection').textContent(), { timeout: 20_000 }).toMatch(/^live · /);
    await keyedPage.reload();
    await expect.poll(() => keyedPage.locator('#connection').textContent(), { timeout: 20_000 }).toMatch(/^live · /);
    expect(await keyedPage.locator('#settings[open]').count()).toBe(0);
    expect(await keyedPage.evaluate('localStorage.getItem("eddy.dashboard.connection")')).toBe(
      JSON.stringify({ apiUrl: '', apiKey: API_KEY }),
    );
  });
});

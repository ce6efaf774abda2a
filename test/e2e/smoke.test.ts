/**
 * `npm run smoke` against the local pipeline: it passes when the pipeline works, and fails (exit 1) when the
 * API refuses it. The command line is run in-process (scripts/smoke/cli.ts `main`), report and exit code as
 * a user would get them.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import type { EddyConfig } from '../../lambdas/core/config.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { main } from '../../scripts/smoke/cli.ts';
import type { SmokeReport } from '../../scripts/smoke/report.ts';
import { startPipeline } from './support.ts';

const API_KEY = 'smoke-test-key';

/**
 * The default views, with windows of at most 10 s so the run's windows are final within about 20 s (the
 * default bid_stats_by_channel has 60 s windows), plus a view with no filter, which the smoke run's ticks
 * reach: they must land in their own group, not in the run's.
 */
const config: EddyConfig = {
  ...defaults,
  views: [
    ...defaults.views.map((v) => (v.window.type === 'tumbling' ? { ...v, window: { ...v.window, size: '10s' } } : v)),
    {
      name: 'cheapest_by_channel',
      groupBy: ['channel'],
      window: { type: 'tumbling', size: '5s' },
      measures: [{ fn: 'count' }, { fn: 'minBy', field: 'price', keep: ['bidder'] }],
    },
  ],
};

let pipeline: LocalPipeline;

beforeAll(async () => {
  const configFile = path.join(tmpdir(), `eddy-smoke-views-${process.pid}.json`);
  await writeFile(configFile, JSON.stringify(config));
  pipeline = await startPipeline({ configFile, apiKey: API_KEY });
});
afterAll(async () => {
  await pipeline?.stop();
});

async function smoke(args: string[], overrides = {}): Promise<{ code: number; report: SmokeReport }> {
  let out = '';
  const code = await main(
    ['--url', pipeline.url, '--json', ...args],
    { out: (text) => (out += text), err: () => undefined },
    {},
    overrides,
  );
  return { code, report: JSON.parse(out) as SmokeReport };
}

describe('npm run smoke', () => {
  it('passes against a working pipeline', { timeout: 60_000 }, async () => {
    // Ticks every 250 ms: the run ends as soon after its windows turn final as it can see.
    const { code, report } = await smoke(['--api-key', API_KEY, '--seed', '7', '--timeout', '50'], {
      tickIntervalMs: 250,
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'health',
      'views',
      'ingest',
      'visible',
      'final',
      ...config.views.map((v) => v.name),
      'conservation',
      'side outputs',
    ]);
    expect(code).toBe(0);
  });

  it('fails with exit code 1 when the API refuses the API key', async () => {
    const { code, report } = await smoke(['--api-key', 'not-the-key']);
    expect(code).toBe(1);
    expect(report.checks.filter((c) => !c.ok)).toEqual([
      { name: 'views', ok: false, detail: expect.stringMatching(/^GET \/views 403 .*refused the API key/) },
    ]);
  });

  it('exits 2 on a usage error', async () => {
    let err = '';
    const code = await main(['--url', pipeline.url, '--seed', 'seven'], {
      out: () => undefined,
      err: (t) => (err += t),
    });
    expect(code).toBe(2);
    expect(err).toMatch(/^--seed must be an integer/);
  });
});

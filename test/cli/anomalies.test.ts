/**
 * `eddy anomalies` as a user runs it: the real binary in a child process, against a local pipeline whose view
 * has a detector and was fed one spike after the warm-up. A file of its own: a process runs one pipeline with
 * the real handlers, and eddy.test.ts's has the default views.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, PROJECT_DIR } from '../../local/pipeline.ts';
import { ANOMALY_VIEW, SPIKE, startAnomalyPipeline } from '../dashboard/anomaly-pipeline.ts';

const EDDY = path.join(PROJECT_DIR, 'cli/eddy.mjs');

let pipeline: LocalPipeline;

beforeAll(async () => {
  pipeline = await startAnomalyPipeline();
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

/** Runs `eddy anomalies ARGS` against the test pipeline (EDDY_URL; it needs no API key). */
function anomalies(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [EDDY, 'anomalies', ...args], {
    cwd: PROJECT_DIR,
    env: { ...process.env, EDDY_URL: pipeline.url, EDDY_API_KEY: undefined },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.concurrent('eddy anomalies', () => {
  it('prints one line per anomaly: window start, group, value against the expected range, score', async () => {
    const run = await anomalies(['--view', ANOMALY_VIEW]);

    const start = new Date(SPIKE.windowStart).toISOString().replace('.000Z', 'Z');
    const n = String.raw`\d+(\.\d+)?`;
    expect(run.stdout).toMatch(
      new RegExp(`^${start}  shop=${SPIKE.shop}  count ${SPIKE.orders} above expected ${n}\\.\\.${n}  score ${n}\n$`),
    );
    expect(run.code).toBe(0);
  });

  it("prints 'no anomalies' for a group the detector reported nothing of", async () => {
    const run = await anomalies(['--view', ANOMALY_VIEW, '--group', 'shop=s01']);

    expect(run.stdout).toBe('no anomalies\n');
    expect(run.code).toBe(0);
  });

  it('--json prints the API answer', async () => {
    const run = await anomalies(['--view', ANOMALY_VIEW, '--group', `shop=${SPIKE.shop}`, '--json']);

    const reply = JSON.parse(run.stdout);
    expect(reply.anomalies.map((a: { group: unknown; value: number }) => [a.group, a.value])).toEqual([
      [{ shop: SPIKE.shop }, SPIKE.orders],
    ]);
    expect(reply.nextCursor).toBeNull();
    expect(run.code).toBe(0);
  });

  it('exits 2 without --view, naming it', async () => {
    const run = await anomalies([]);

    expect(run.stderr).toMatch(/^error: required option '--view <view>' not specified/);
    expect(run.code).toBe(2);
  });
});

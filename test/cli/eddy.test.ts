/**
 * The `eddy` CLI as a user runs it: the real binary (cli/eddy.mjs, package.json `bin`) in a child process,
 * against a local pipeline started in this process, with its output and exit code as a shell would see them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadReport } from '../../cli/load/report.ts';
import { type LocalPipeline, PROJECT_DIR } from '../../local/pipeline.ts';
import { startPipeline } from '../e2e/support.ts';

const EDDY = path.join(PROJECT_DIR, 'cli/eddy.mjs');
const API_KEY = 'cli-test-key';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let pipeline: LocalPipeline;
let dir: string;

/** Runs `eddy ARGS` against the test pipeline (EDDY_URL, EDDY_API_KEY), feeding `stdin` if given. */
function eddy(
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv; command?: readonly string[] } = {},
): Promise<Run> {
  const [file, ...pre] = options.command ?? [process.execPath, EDDY];
  const child = spawn(file!, [...pre, ...args], {
    cwd: PROJECT_DIR,
    env: { ...process.env, EDDY_URL: pipeline.url, EDDY_API_KEY: API_KEY, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An event time whose 10 s window also holds the watermark it leads to (event time − 4 s out-of-orderness). */
function timeInLatestWindow(): number {
  const now = Date.now();
  return now - (now % 10_000) + 5_000;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eddy-cli-'));
  // One shard: its watermark is the pipeline's as soon as it has read a batch, so `top` has a latest window.
  pipeline = await startPipeline({ apiKey: API_KEY, shards: 1 });
});
afterAll(async () => {
  await pipeline?.stop();
});

describe.concurrent('eddy send', () => {
  it('posts an NDJSON file in requests of --batch events and names rejected events by their index in the file', async () => {
    const now = Date.now();
    const file = path.join(dir, 'events.ndjson');
    await writeFile(
      file,
      [
        JSON.stringify({ type: 'bid', auction: 'send-1', price: 1, dateTime: now }),
        '',
        JSON.stringify({ type: 'bid', auction: 'send-1', price: 2, dateTime: now }),
        'not json',
        JSON.stringify({ type: 'bid', auction: 'send-1', price: 3 }),
        JSON.stringify({ type: 'bid', auction: 'send-1', price: 4, dateTime: now }),
        '',
      ].join('\n'),
    );

    const run = await eddy(['send', file, '--batch', '2']);

    expect(run.stdout).toBe(
      [
        `${file}: 5 events (ndjson) in 3 requests: 3 accepted, 2 rejected`,
        `  #2 (file line 4): line 1 is not JSON: Unexpected token 'o', "not json" is not valid JSON`,
        `  #3 (file line 5): event time field 'dateTime' is missing`,
        '',
      ].join('\n'),
    );
    expect(run.code).toBe(1);
  });

  it('reads a JSON array from standard input and prints a JSON report with --json', async () => {
    const now = Date.now();
    const events = [1, 2, 3].map((price) => ({ type: 'bid', auction: 'send-2', price, dateTime: now }));

    const run = await eddy(['send', '-', '--json'], { stdin: JSON.stringify(events) });

    expect(JSON.parse(run.stdout)).toEqual({
      source: 'stdin',
      format: 'json',
      events: 3,
      requests: 1,
      accepted: 3,
      rejected: [],
    });
    expect(run.code).toBe(0);
  });
});

// The reads run at once: each spawns a process, and none changes what the others read.
describe.concurrent('eddy query, top and tail', () => {
  beforeAll(async () => {
    const dateTime = timeInLatestWindow();
    const events = [
      ...Array.from({ length: 30 }, (_, i) => ({ type: 'bid', auction: 'top-a', price: i + 1, dateTime })),
      ...Array.from({ length: 20 }, () => ({ type: 'bid', auction: 'top-b', price: 5, dateTime })),
      ...Array.from({ length: 10 }, () => ({ type: 'bid', auction: 'top-c', price: 7, dateTime })),
    ];
    const sent = await eddy(['send'], { stdin: JSON.stringify(events) });
    expect(sent.code).toBe(0);
    await pipeline.poller.drained(30_000);
  });

  it('query prints the windows of one group as a table', async () => {
    const run = await eddy(['query', 'bids_per_auction', '--group', 'auction=top-b']);

    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^bids_per_auction · auction=top-b · watermark \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(lines[2]).toMatch(/^window +state +count +sum_price +min_price +max_price +avg_price$/);
    expect(lines[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 → \d\d:\d\d:\d0 +provisional +20 +100 +5 +5 +5$/);
    expect(run.code).toBe(0);
  });

  it('query --json prints the API answer', async () => {
    const run = await eddy(['query', 'bids_per_auction', '--group', 'auction=top-c', '--json']);

    const reply = JSON.parse(run.stdout);
    expect(reply.group).toEqual({ auction: 'top-c' });
    expect(reply.results.map((w: { measures: unknown }) => w.measures)).toEqual([
      { count: 10, sum_price: 70, min_price: 7, max_price: 7, avg_price: 7 },
    ]);
    expect(run.code).toBe(0);
  });

  it('top ranks the groups of the latest window by --by', async () => {
    const run = await eddy(['top', 'bids_per_auction', '--by', 'count', '--limit', '3']);

    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^bids_per_auction · window .* UTC, provisional · top 3 by count$/);
    expect(lines.slice(2).map((l) => l.split(/ +/).slice(0, 3))).toEqual([
      ['auction', 'count', 'sum_price'],
      ['top-a', '30', '465'],
      ['top-b', '20', '100'],
      ['top-c', '10', '70'],
    ]);
    expect(run.code).toBe(0);
  });

  it('tail --json prints a frame per interval until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [EDDY, 'tail', 'bids_per_auction', '--json', '--interval', '200ms'], {
      env: { ...process.env, EDDY_URL: pipeline.url, EDDY_API_KEY: API_KEY },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await expect.poll(() => stdout.split('\n').length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(2);
    child.kill('SIGINT');

    expect(await closed).toBe(0);
    const frame = JSON.parse(stdout.split('\n')[0]!);
    expect(frame.top.groups[0]).toEqual({
      group: { auction: 'top-a' },
      measures: { count: 30, sum_price: 465, min_price: 1, max_price: 30, avg_price: 15.5 },
    });
    expect(frame.status.events.accepted).toBeGreaterThanOrEqual(60);
  });
});

describe('eddy load', () => {
  it('sends rate × duration events, shows progress, and reports freshness from probes', {
    timeout: 60_000,
  }, async () => {
    const run = await eddy([
      'load',
      ...['--rate', '50', '--duration', '2s', '--seed', '7', '--probe-interval', '250ms', '--drain-timeout', '30s'],
      '--json',
    ]);

    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.failures).toEqual([]);
    expect(report.sent.events).toBe(100);
    expect(report.accepted).toBe(100);
    expect(report.rejected).toBe(0);
    expect(report.sent.person + report.sent.auction + report.sent.bid).toBe(100);
    if (report.freshness.view === null) throw new Error(report.freshness.reason);
    expect(report.freshness.view).toBe('bids_per_auction');
    expect(report.freshness.visible).toBe(report.freshness.probes);
    expect(report.freshness.ms.p50).toBeGreaterThan(0);
    // The pipeline counted every event of the run and every probe, and read them all.
    expect(report.pipeline.accepted).toBe(100 + report.freshness.probes);
    expect(report.pipeline.processed).toBe(100 + report.freshness.probes);
    expect(run.stderr).toMatch(
      /^load \[[=-]+\] \d+% \| sent \d+\/100 \| accepted \d+ \| rejected 0 \| \d+ events\/s \| backlog/m,
    );
    expect(run.code).toBe(0);
  });
});

describe('eddy status', () => {
  it('--json prints GET /status as the API answered it', async () => {
    const run = await eddy(['status', '--json']);

    const direct = await fetch(`${pipeline.url}/status`, { headers: { 'x-api-key': API_KEY } });
    const status = JSON.parse(run.stdout);
    expect(status.events).toEqual(((await direct.json()) as { events: unknown }).events);
    expect(status.shards.map((s: { shardId: string }) => s.shardId)).toEqual(['shardId-000000000000']);
    expect(run.code).toBe(0);
  });
});

describe.concurrent('exit codes and credentials', () => {
  it('exits 2 on a usage error, naming the option', async () => {
    const run = await eddy(['load', '--rate', 'fast']);

    expect(run.stderr).toMatch(/^error: option '--rate <n>' argument 'fast' is invalid\. use an integer from 1/);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
  });

  it('exits 1 with the API error as the API wrote it', async () => {
    const run = await eddy(['status'], { env: { EDDY_API_KEY: 'not-the-key' } });

    expect(run.stderr).toBe('error: GET /status answered 403: {"message":"Forbidden"}\n');
    expect(run.code).toBe(1);
  });

  it('--iam signs each request with SigV4 for execute-api in the --region', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ events: { accepted: 0 }, watermark: null, shards: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const run = await eddy(['status', '--iam', '--region', 'eu-west-1', '--url', `http://127.0.0.1:${port}/v1`], {
        env: {
          EDDY_API_KEY: '',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
          AWS_SESSION_TOKEN: '',
        },
      });

      expect(run.code).toBe(0);
      expect(seen[0]?.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
      );
      expect(seen[0]?.['x-api-key']).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('npx eddy runs the package.json bin', async () => {
    const run = await eddy(['--help'], { command: ['npx', '--no', '--', 'eddy'] });

    expect(run.stdout).toMatch(/^Usage: eddy \[options\] \[command\]/);
    expect(run.stdout).toMatch(/Exit codes:\n {2}0 {2}done/);
    expect(run.code).toBe(0);
  });
});

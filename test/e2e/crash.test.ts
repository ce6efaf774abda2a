/**
 * Nothing lost, nothing doubled across a crash. `npm start -- --data-dir DIR` runs as its own process tree
 * (the runtime and its emulators); a load of keyed requests is sent, the whole tree is killed with SIGKILL at a
 * random moment (mid-request or mid-batch, as a machine crash or an OOM kill would), the runtime is started
 * again on the same data dir, every request that did not get a 2xx is sent again with the same
 * Idempotency-Key, and every window is compared with an oracle computed from the events: exact.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../lambdas/core/random.ts';
import { PROJECT_DIR } from '../../local/pipeline.ts';

const REQUESTS = 80;
const EVENTS_PER_REQUEST = 40;
const AUCTIONS = 12;
const CONCURRENCY = 6;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await killTree(child.pid!);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRuntime(dataDir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/main.ts', '--data-dir', dataDir, '--port', String(port)],
    { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
  );
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the runtime exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url };
    if (Date.now() > deadline) throw new Error(`the runtime did not start within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every descendant of `pid`, read from /proc (the emulators run in process groups of their own). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** SIGKILL to the runtime and all its descendants at once: nobody gets to flush anything. */
async function killTree(pid: number): Promise<void> {
  for (const p of [pid, ...(await descendants(pid))]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface Request {
  readonly key: string;
  readonly events: Array<{ type: 'bid'; auction: string; price: number; dateTime: number; channel: string }>;
}

function workload(seed: number, windowStart: number): Request[] {
  const random = mulberry32(seed);
  return Array.from({ length: REQUESTS }, (_, r) => ({
    key: `crash-${seed}-${r}`,
    events: Array.from({ length: EVENTS_PER_REQUEST }, () => ({
      type: 'bid' as const,
      auction: `a${Math.floor(random() * AUCTIONS)}`,
      price: 1 + Math.floor(random() * 100),
      channel: 'web',
      // All in the first half of one 10 s window: the watermark (max event time − 4 s) cannot pass its end, so
      // no event is late whatever order the requests arrive in.
      dateTime: windowStart + Math.floor(random() * 5_000),
    })),
  }));
}

async function post(url: string, request: Request): Promise<number> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': request.key },
    body: JSON.stringify(request.events),
  });
  await res.arrayBuffer();
  return res.status;
}

async function crashRun(seed: number): Promise<void> {
  const random = mulberry32(seed * 7919);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'eddy-crash-'));
  dirs.push(dataDir);
  const t = Date.now() - 3_600_000;
  const windowStart = t - (t % 10_000);
  const requests = workload(seed, windowStart);
  const port = await freePort();

  // GIVEN a runtime taking a load of keyed requests
  const first = await startRuntime(dataDir, port);
  const answered = new Set<string>();
  let next = 0;
  const sender = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const status = await post(first.url, request).catch(() => 0);
      if (status >= 200 && status < 300) answered.add(request.key);
    }
  };
  const load = Promise.all(Array.from({ length: CONCURRENCY }, sender));
  // WHEN the whole process tree is killed at a random moment of the load
  await new Promise((r) => setTimeout(r, 200 + random() * 1_500));
  await killTree(first.child.pid!);
  await load;
  expect(answered.size).toBeLessThan(REQUESTS);

  // AND it is started again on the same data dir, and every unanswered request is sent again with its key
  const second = await startRuntime(dataDir, port);
  for (const request of requests) {
    if (answered.has(request.key)) continue;
    const deadline = Date.now() + 30_000;
    // 409: the dead attempt's claim, taken over once older than the ingest timeout.
    for (let status = await post(second.url, request); status !== 202; status = await post(second.url, request)) {
      if (status !== 409 || Date.now() > deadline) throw new Error(`resend of ${request.key} answered ${status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  // THEN every window holds each event exactly once
  const expected = new Map<string, { count: number; sum: number }>();
  for (const e of requests.flatMap((r) => r.events)) {
    const w = expected.get(e.auction) ?? { count: 0, sum: 0 };
    w.count++;
    w.sum += e.price;
    expected.set(e.auction, w);
  }
  const read = async () => {
    const actual = new Map<string, { count: number; sum: number }>();
    for (const auction of expected.keys()) {
      const res = await fetch(`${second.url}/views/bids_per_auction/results?auction=${auction}`);
      const body = (await res.json()) as { results: Array<{ windowStart: string; measures: Record<string, number> }> };
      for (const w of body.results) {
        expect(w.windowStart).toBe(new Date(windowStart).toISOString());
        actual.set(auction, { count: w.measures.count!, sum: w.measures.sum_price! });
      }
    }
    return actual;
  };
  const deadline = Date.now() + 30_000;
  let actual = await read();
  while (JSON.stringify([...actual].sort()) !== JSON.stringify([...expected].sort()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    actual = await read();
  }
  expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  const status = (await (await fetch(`${second.url}/status`)).json()) as { events: Record<string, number> };
  expect(status.events.late).toBe(0);
  expect(status.events.deadLettered).toBe(0);
}

describe('kill -9 of the whole process tree under load, then restart with the same --data-dir', () => {
  it.each([1, 2])('counts every event of every request exactly once (seed %i)', crashRun, 120_000);
});

/**
 * The README's runnable examples, executed: every ```sh block marked `<!-- readme-test: name -->` runs, in
 * README order, in one bash shell (so `NOW=...` and functions carry over from block to block, as in a
 * reader's terminal) against a local pipeline started in this process on a free port, and its output
 * (stdout and stderr, as a terminal shows them) is compared with the block the README shows after it.
 * readme-examples.ts says how to mark an example and how outputs are compared.
 *
 * The commands run as written, with bash, curl and jq (Debian's base image has all three): only the
 * README's base URL, http://127.0.0.1:3000 (or localhost:3000), is replaced with the test pipeline's. Before
 * each block the test waits until the aggregator has read everything sent so far, as a reader would take a
 * moment between commands. The pipeline delivers batches without a batching window to keep this quick.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, PROJECT_DIR, startLocalPipeline } from '../../local/pipeline.ts';
import { compareOutput, extractExamples, parseJsonSequence } from './readme-examples.ts';

const README = await readFile(path.join(PROJECT_DIR, 'README.md'), 'utf8');
const EXAMPLES = extractExamples(README);

/** The examples the README must keep marked, so that dropping a marker cannot drop them from the test. */
const REQUIRED = [
  'send-one-event',
  'send-array',
  'send-ndjson',
  'read-results',
  'finality-later-event',
  'finality-read',
  'late-event',
  'late-read',
  'status',
  'help',
  'post-rejected-by-index',
  'post-errors',
  'idempotency-key',
  'query-errors',
  'emitted',
  'anomalies',
  'bad-config',
];

describe('README output matching', () => {
  it('parses the README marks', () => {
    expect(EXAMPLES.map((e) => e.name)).toEqual(expect.arrayContaining(REQUIRED));
    expect(new Set(EXAMPLES.map((e) => e.name)).size).toBe(EXAMPLES.length);
  });

  it('fails on another value, a missing or extra key, or another length, and ignores times and vary keys', () => {
    const expected = '{"a":1,"t":"2026-11-24T07:28:56.000Z","s":"x…z","seq":"123","l":[1,2]} 400';
    const vary = new Set(['seq']);
    expect(
      compareOutput(expected, '{"a":1,"t":"2030-01-01T00:00:00Z","s":"xyyz","seq":"9","l":[1,2]}\n400', vary),
    ).toEqual([]);
    expect(
      compareOutput(expected, '{"a":2,"t":"2030-01-01T00:00:00Z","s":"xz","seq":"9","l":[1,2]} 400', vary),
    ).toEqual(['[0].a: expected 1, got 2']);
    expect(
      compareOutput(expected, '{"t":"2030-01-01T00:00:00Z","s":"xz","seq":"9","l":[1,2],"b":0} 400', vary),
    ).toEqual(['[0]: missing key(s) a', '[0]: unexpected key(s) b']);
    expect(compareOutput(expected, '{"a":1,"t":"later","s":"xz","seq":9,"l":[1]} 404', vary)).toHaveLength(4);
    expect(compareOutput(expected, '{"a":1}', vary)).toContain('expected 2 JSON value(s), got 1');
  });

  it('compares text line by line, with … for any lines', () => {
    expect(compareOutput('a\n…\nz at 2026-11-24T07:28:56Z', '\na\nb\nc\nz at 2026-12-01T00:00:00.123Z\n')).toEqual([]);
    expect(compareOutput('a\nb', 'a\nc')).toEqual(['line 2: expected "b", got "c"']);
    expect(parseJsonSequence('HTTP/1.1 202 Accepted')).toBeUndefined();
  });
});

describe('README examples, executed', () => {
  let pipeline: LocalPipeline;
  let shell: Shell;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'eddy-readme-'));
    pipeline = await startLocalPipeline({
      port: 0,
      dataDir: work,
      log: () => undefined,
      eventSource: { maxBatchingWindowSeconds: 0, idlePollMs: 50, retryBackoffMs: 20, maxRetryBackoffMs: 100 },
    });
    shell = new Shell(work);
  });
  afterAll(async () => {
    shell?.close();
    await pipeline?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const example of EXAMPLES) {
    it(`${example.name} (README line ${example.line})`, { timeout: 45_000 }, async () => {
      await pipeline.poller.drained(20_000);
      const script = example.script
        .replaceAll('http://127.0.0.1:3000', pipeline.url)
        .replaceAll('http://localhost:3000', pipeline.url);
      const { output, status } = await shell.run(script, 40_000);
      const problems = example.expected === undefined ? [] : compareOutput(example.expected, output, example.vary);
      if (status !== example.exitCode) problems.unshift(`exit code ${status}, README says ${example.exitCode}`);
      const report =
        `README example '${example.name}' (line ${example.line}) differs from what runs:\n  ` +
        `${problems.join('\n  ')}\n--- output ---\n${output}`;
      expect(problems, report).toEqual([]);
    });
  }
});

/** One bash process for all the blocks, like a reader's terminal: variables and functions carry over. */
class Shell {
  private readonly bash;
  private stdout = '';
  private blocks = 0;
  private exited: string | undefined;
  private waiting: (() => void) | undefined;

  constructor(private readonly dir: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: PROJECT_DIR, env, detached: true });
    this.bash.stdout.setEncoding('utf8');
    this.bash.stdout.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.waiting?.();
    });
    this.bash.stderr.resume();
    this.bash.on('exit', (code, signal) => {
      this.exited = `bash exited (${signal ?? code})`;
      this.waiting?.();
    });
  }

  /** Runs a block with its output (stdout and stderr together) captured; resolves with its last exit code. */
  async run(script: string, timeoutMs: number): Promise<{ output: string; status: number }> {
    const n = ++this.blocks;
    const file = path.join(this.dir, `block-${n}.sh`);
    const out = path.join(this.dir, `block-${n}.out`);
    await writeFile(file, `${script}\n`);
    const done = `__readme_block_${n}_done__`;
    this.bash.stdin.write(`source '${file}' < /dev/null > '${out}' 2>&1; echo "${done} $?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = new RegExp(`${done} (\\d+)`).exec(this.stdout);
      if (m) return { output: await readFile(out, 'utf8'), status: Number(m[1]) };
      if (this.exited) throw new Error(`${this.exited} while running:\n${script}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        this.close();
        throw new Error(`still running after ${timeoutMs} ms:\n${script}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    if (this.exited || this.bash.pid === undefined) return;
    try {
      process.kill(-this.bash.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}

/**
 * The embedded AWS emulators: kinesis-local (kinesis-mock, pure JS) and dynalite (DynamoDB on LevelDB), each a
 * child process on an explicit free port. No Docker and no AWS account.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { localDynamoClient, localKinesisClient } from './aws-clients.ts';

export interface EmulatorOptions {
  /**
   * Directory for the table's persistent state (`dynamodb/` inside it); the stream is kept by the runtime's journal.
   * @default - in memory: everything is gone when the emulators stop
   */
  readonly persistDir?: string;
  /** How long each emulator may take to answer its first request. @default 20_000 */
  readonly startTimeoutMs?: number;
}

export interface Emulators {
  readonly kinesisEndpoint: string;
  readonly dynamoEndpoint: string;
  /** Stops both children: SIGTERM, then SIGKILL after 2 s. Idempotent. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const KINESIS_LOCAL_DIR = path.dirname(require.resolve('kinesis-local/package.json'));
const DYNALITE_DIR = path.dirname(require.resolve('dynalite/package.json'));
const KILL_GRACE_MS = 2_000;
/**
 * Preloaded into each emulator: exit once the parent is gone (the child is re-parented), whatever killed it,
 * SIGKILL included. The exit hook in startChild covers orderly exits; this covers the rest.
 */
const ORPHAN_GUARD = `data:text/javascript,${encodeURIComponent(
  'const parent = process.ppid; setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();',
)}`;
const STDERR_TAIL_CHARS = 4_000;

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  // Started side by side: kinesis-local takes about a second to boot, dynalite a few hundred milliseconds.
  const [kinesis, dynamo] = await Promise.allSettled([
    startWithRetry('kinesis-local', (port) => kinesisLocalCommand(port), probeKinesis, timeoutMs),
    startWithRetry('dynalite', (port) => dynaliteCommand(port, options.persistDir), probeDynamo, timeoutMs),
  ]);
  if (kinesis.status === 'rejected' || dynamo.status === 'rejected') {
    await Promise.all([kinesis, dynamo].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw kinesis.status === 'rejected' ? kinesis.reason : (dynamo as PromiseRejectedResult).reason;
  }
  let stopping: Promise<void> | undefined;
  return {
    kinesisEndpoint: kinesis.value.endpoint,
    dynamoEndpoint: dynamo.value.endpoint,
    stop() {
      stopping ??= Promise.all([kinesis.value.stop(), dynamo.value.stop()]).then(() => undefined);
      return stopping;
    },
  };
}

/** A free TCP port on the loopback interface, found by letting the OS pick one. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface ChildCommand {
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

async function kinesisLocalCommand(plainPort: number): Promise<ChildCommand> {
  // The TLS port is unused but must be free: its default (4567) is also dynalite's default.
  const tlsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    KINESIS_MOCK_PLAIN_PORT: String(plainPort),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    KINESIS_MOCK_CERT_PATH: path.join(KINESIS_LOCAL_DIR, 'server.json'),
    LOG_LEVEL: 'WARN',
    // AWS takes seconds to minutes; waiting here only slows startup and tests.
    CREATE_STREAM_DURATION: '0ms',
    UPDATE_SHARD_COUNT_DURATION: '0ms',
    SPLIT_SHARD_DURATION: '0ms',
    MERGE_SHARDS_DURATION: '0ms',
  };
  // No persistence of kinesis-local's own, even with a persist dir: it snapshots every few seconds, so a crash
  // loses what it took since, and its record numbers carry the time they were written, so what is put back
  // gets other numbers. The runtime journals the stream itself and replays it at start (local/stream-journal.ts).
  return { args: [path.join(KINESIS_LOCAL_DIR, 'main.js')], env };
}

async function dynaliteCommand(port: number, persistDir: string | undefined): Promise<ChildCommand> {
  const args = [path.join(DYNALITE_DIR, 'cli.js'), '--port', String(port), '--host', '127.0.0.1'];
  args.push('--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0');
  if (persistDir !== undefined) {
    const dir = path.resolve(persistDir, 'dynamodb');
    mkdirSync(dir, { recursive: true });
    args.push('--path', dir);
  }
  return { args };
}

async function probeKinesis(endpoint: string): Promise<void> {
  const client = localKinesisClient(endpoint);
  try {
    await client.send(new ListStreamsCommand({}));
  } finally {
    client.destroy();
  }
}

async function probeDynamo(endpoint: string): Promise<void> {
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new ListTablesCommand({}));
  } finally {
    client.destroy();
  }
}

interface RunningChild {
  readonly endpoint: string;
  stop(): Promise<void>;
}

class ChildExitedEarly extends Error {}

/**
 * Another process can take a free port between our probe and the child's bind: if the child dies before it
 * answers, try again on fresh ports (a timeout is not retried: that is a real problem worth reporting).
 */
async function startWithRetry(
  name: string,
  command: (port: number) => Promise<ChildCommand>,
  probe: (endpoint: string) => Promise<void>,
  timeoutMs: number,
): Promise<RunningChild> {
  for (let attempt = 1; ; attempt++) {
    try {
      const port = await freePort();
      return await startChild(name, port, await command(port), probe, timeoutMs);
    } catch (err) {
      if (!(err instanceof ChildExitedEarly) || attempt === 3) throw err;
    }
  }
}

async function startChild(
  name: string,
  port: number,
  command: ChildCommand,
  probe: (endpoint: string) => Promise<void>,
  timeoutMs: number,
): Promise<RunningChild> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, ...command.args], {
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, but the emulators must
    // outlive the batch in flight; stop() ends them after it.
    detached: true,
  });
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnParentExit = () => child.kill('SIGKILL');
  process.once('exit', killOnParentExit);

  const stop = stopper(child, exited, () => process.removeListener('exit', killOnParentExit));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new ChildExitedEarly(
          `${name} exited (${child.exitCode ?? child.signalCode}) before answering on ${endpoint}:\n${output}`,
        );
      }
      try {
        await probe(endpoint);
        return { endpoint, stop };
      } catch {
        if (Date.now() > deadline) {
          throw new Error(`${name} did not answer on ${endpoint} within ${timeoutMs} ms; its output ends:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

function stopper(child: ChildProcess, exited: Promise<void>, cleanup: () => void): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    })();
    return stopping;
  };
}

/**
 * `npm run redrive`: applies the batches the event source mapping gave up on (GET /failed-batches), once
 * their cause is fixed, exactly once each. See lambdas/aggregate/redrive.ts for how, and the README's
 * "Recovering given-up batches". Exit code 0 when every pending batch was redriven (or none was pending),
 * 1 when one could not be, 2 for a usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { loadConfigFile } from '../config/load.ts';
import { createDynamoClient, createKinesisClient } from '../lambdas/adapters/aws-clients.ts';
import { DynamoStateStore } from '../lambdas/adapters/dynamo-state-store.ts';
import { type RedrivenBatch, Redriver } from '../lambdas/aggregate/redrive.ts';
import { localDynamoClient, localKinesisClient } from '../local/aws-clients.ts';
import { readLocalEndpoints } from '../local/local-endpoints.ts';

const PROJECT_DIR = path.resolve(import.meta.dirname, '..');

const USAGE = `Usage: npm run redrive -- [--data-dir DIR | --table NAME [--config FILE]] [--dry-run]

Applies the batches the aggregator's event source mapping gave up on (GET /failed-batches), exactly once
each, reading their records back from the stream. Fix what made them fail first. A batch is applied under a
shard of its own (redrive:<shardId>:<first sequence number>); its events that are late by now are counted
late (GET /late).

Options:
  --data-dir DIR    the local pipeline started with this --data-dir (npm start)   default: .eddy
  --table NAME      a deployment on AWS: its state table (stack output StateTableName, or the console);
                    credentials and region from the default chain (AWS_PROFILE, AWS_REGION, ...)
  --config FILE     with --table: the views config it was deployed with         default: config/views.ts
  --dry-run         list the batches that would be redriven, change nothing
  -h, --help        show this help

Exit code: 0 every pending batch redriven (or none pending), 1 one could not be, 2 usage error.
`;

export class UsageError extends Error {}

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const CONSOLE: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

interface Target {
  readonly dynamodb: DynamoDBClient;
  readonly kinesis: KinesisClient;
  readonly tableName: string;
  readonly configFile: string;
  readonly where: string;
}

function readArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        table: { type: 'string' },
        config: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function targetOf(values: ReturnType<typeof readArgs>): Promise<Target> {
  if (values.table !== undefined) {
    if (values['data-dir'] !== undefined) throw new UsageError('use --data-dir (local) or --table (AWS), not both');
    return {
      dynamodb: createDynamoClient(),
      kinesis: createKinesisClient(),
      tableName: values.table,
      configFile: values.config ?? path.join(PROJECT_DIR, 'config', 'views.ts'),
      where: `table ${values.table}`,
    };
  }
  if (values.config !== undefined)
    throw new UsageError('--config only applies with --table; locally it is the running one');
  const dataDir = path.resolve(values['data-dir'] ?? path.join(PROJECT_DIR, '.eddy'));
  const local = await readLocalEndpoints(dataDir);
  return {
    dynamodb: localDynamoClient(local.dynamoEndpoint),
    kinesis: localKinesisClient(local.kinesisEndpoint),
    tableName: local.tableName,
    configFile: local.configFile,
    where: `the local pipeline of ${dataDir}`,
  };
}

function describe(result: RedrivenBatch): string {
  const b = result.batch;
  const range = `${b.shardId} ${b.startSequenceNumber}..${b.endSequenceNumber} (${b.records} record(s), given up ${new Date(b.failedAtMs).toISOString()}: ${b.reason})`;
  if (result.outcome === 'not-in-stream') {
    return `not redriven  ${range}: the stream no longer holds all its records; nothing applied`;
  }
  const c = result.counters!;
  return `redriven      ${range}: ${c.processed} processed, ${c.late} late, ${c.deadLettered} dead-lettered`;
}

/** Runs the command and returns its exit code (tests call this in-process). */
export async function main(argv: readonly string[], io: Io = CONSOLE): Promise<number> {
  let target: Target;
  let dryRun: boolean;
  try {
    const values = readArgs(argv);
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    dryRun = values['dry-run'] ?? false;
    target = await targetOf(values);
  } catch (err) {
    if (!(err instanceof UsageError)) {
      io.err((err as Error).message);
      return 1;
    }
    io.err(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  try {
    const config = await loadConfigFile(target.configFile);
    const store = new DynamoStateStore(target.dynamodb, target.tableName);
    const redriver = new Redriver(config.spec, store, target.kinesis);
    const pending = await redriver.pending();
    if (pending.length === 0) {
      io.out(`No given-up batches to redrive in ${target.where}.`);
      return 0;
    }
    if (dryRun) {
      for (const b of pending) {
        io.out(`would redrive ${b.shardId} ${b.startSequenceNumber}..${b.endSequenceNumber} (${b.records} record(s))`);
      }
      return 0;
    }
    const results = await redriver.redriveAll((result) => io.out(describe(result)));
    const missed = results.filter((r) => r.outcome !== 'redriven').length;
    io.out(`${results.length - missed} batch(es) redriven, ${missed} not redriven, in ${target.where}.`);
    return missed === 0 ? 0 : 1;
  } catch (err) {
    io.err(`redrive stopped: ${(err as Error).message}; what was applied stays applied, run it again once fixed`);
    return 1;
  } finally {
    target.dynamodb.destroy();
    target.kinesis.destroy();
  }
}

if (process.argv[1]?.endsWith('scripts/redrive.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}

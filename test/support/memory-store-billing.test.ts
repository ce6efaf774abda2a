/**
 * The in-memory store's meter bills what the DynamoDB adapter's requests cost: the same batches go through the
 * shard processor on both stores, and the meter's units are compared with the ConsumedCapacity dynalite reports
 * for every request the adapter sent.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.ts';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import type { StateStore } from '../../lambdas/core/store.ts';
import { localDynamoClient } from '../../local/aws-clients.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { ensureTable } from '../../local/resources.ts';
import { packedRecord } from './kinesis.ts';
import { MemoryStateStore } from './memory-state-store.ts';

let emulators: Emulators | undefined;
let dynamo: DynamoDBClient | undefined;
/** Requests the adapter sent, and the units dynalite reports for them. */
const consumed = { wcu: 0, rcu: 0, writes: 0, reads: 0 };

beforeAll(async () => {
  emulators = await startEmulators();
  dynamo = localDynamoClient(emulators.dynamoEndpoint);
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string; ConsistentRead?: boolean };
      input.ReturnConsumedCapacity = 'TOTAL';
      const read = /Get|Query/.test(context.commandName ?? '');
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (err) {
        // A failed condition is billed too, on the existing item, which dynalite does not report: every
        // item a condition fails on here (a pipeline watermark, an emitted result) is under 1 KB.
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
        consumed.writes++;
        consumed.wcu += 1;
        throw err;
      }
      const output = result.output as {
        ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }>;
        Count?: number;
      };
      const units = [output.ConsumedCapacity ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (read) {
        consumed.reads++;
        // An empty Query: DynamoDB bills the minimum read, dynalite nothing.
        consumed.rcu += units === 0 && output.Count === 0 ? (input.ConsistentRead ? 1 : 0.5) : units;
      } else {
        consumed.writes++;
        consumed.wcu += units;
      }
      return result;
    },
    { step: 'initialize', name: 'consumedCapacity' },
  );
});
afterAll(async () => {
  dynamo?.destroy();
  await emulators?.stop();
});

const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const config = normalizeConfig(defaults);

/** Six batches of Nexmark-like bids over 40 s of event time, then the scheduled emission of what is left. */
async function run(store: StateStore): Promise<void> {
  const processor = new ShardProcessor(config, store, () => T + 120_000);
  for (let b = 0; b < 6; b++) {
    const events = Array.from({ length: 50 }, (_, i) => ({
      type: 'bid',
      auction: 1000 + ((b * 7 + i) % 13),
      bidder: 2000 + ((b * 11 + i) % 17),
      price: 100 + i * 37,
      channel: 'Google',
      url: 'https://example.com/item',
      dateTime: T + b * 7_000 + i * 100,
    }));
    await processor.process('shardId-000000000000', [
      toBatchRecord(packedRecord('shardId-000000000000', events, T + 10_000_000 + b)),
    ]);
  }
  await new ShardProcessor(config, store, () => T + 10_000_000).emitFinalWindows({
    entries: 1_000_000,
    deadline: Number.POSITIVE_INFINITY,
  });
}

it('meters the requests of a run of the shard processor as dynalite bills the adapter for them', async () => {
  const memory = new MemoryStateStore();
  await run(memory);
  await ensureTable(dynamo!, 'billing');
  Object.assign(consumed, { wcu: 0, rcu: 0, writes: 0, reads: 0 });
  await run(new DynamoStateStore(dynamo!, 'billing'));

  const metered = memory.meter.totals();
  expect(metered.writeRequests).toBe(consumed.writes);
  expect(metered.wcu).toBe(consumed.wcu);
  expect(metered.readRequests).toBe(consumed.reads);
  expect(metered.rcu).toBe(consumed.rcu);
});

/**
 * The worst batch: one Lambda batch of 10,000 records (the most an event source mapping delivers) with a
 * distinct auction and bidder in every record, applied by the shard processor to the real DynamoStateStore on
 * dynalite over HTTP. Every record then touches new groups, so the batch writes as many items as it can.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoStateStore } from '../lambdas/adapters/dynamo-state-store.ts';
import { toBatchRecord } from '../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../lambdas/aggregate/shard-processor.ts';
import { type EddyConfig, normalizeConfig } from '../lambdas/core/config.ts';
import { localDynamoClient } from '../local/aws-clients.ts';
import { startEmulators } from '../local/emulators.ts';
import { ensureTable } from '../local/resources.ts';
import { packedRecord } from '../test/support/kinesis.ts';

/** An event source mapping delivers at most 10,000 records a batch. */
export const WORST_BATCH_RECORDS = 10_000;

export interface WorstBatch {
  readonly records: number;
  readonly views: number;
  /** Wall-clock milliseconds of the slower of the two batches, or the cap if one had not finished by then. */
  readonly ms: number;
  /** The batch of distinct keys itself, and the next one, which makes their windows final and publishes them. */
  readonly distinctMs: number;
  readonly finalisingMs: number;
  /** True when a batch was still running at the cap: the figure is a lower bound. */
  readonly capped: boolean;
}

export async function worstBatch(raw: EddyConfig, startMs: number, capMs: number): Promise<WorstBatch> {
  const config = normalizeConfig(raw);
  const shardId = 'shardId-000000000000';
  // One bid per record, 10,000 of them over one second of event time, each from its own bidder on its own auction.
  const records = Array.from({ length: WORST_BATCH_RECORDS }, (_, i) =>
    toBatchRecord(
      packedRecord(
        shardId,
        [
          {
            type: 'bid',
            auction: 1_000_000 + i,
            bidder: 2_000_000 + i,
            price: 100 + ((i * 7919) % 100_000),
            channel: 'Google',
            url: `https://example.com/item/${1_000_000 + i}`,
            dateTime: startMs + Math.floor(i / 10),
          },
        ],
        startMs + 2_000,
      ),
    ),
  );
  const emulators = await startEmulators();
  const client = localDynamoClient(emulators.dynamoEndpoint);
  try {
    const table = 'bench-worst-batch';
    await ensureTable(client, table);
    let now = startMs + 2_000;
    const processor = new ShardProcessor(config, new DynamoStateStore(client, table), () => now);
    const timed = async (batch: typeof records): Promise<{ ms: number; capped: boolean }> => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const run = processor.process(shardId, batch).then(() => false);
      // Past the cap the emulators stop under the batch, which then fails: that failure is no news.
      run.catch(() => undefined);
      const capped = await Promise.race([
        run,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), capMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return { ms: capped ? capMs : performance.now() - t0, capped };
    };
    const distinct = await timed(records);
    // A minute later: one record whose event moves the watermark past every window of the first batch, so
    // this batch publishes them (as much as one batch's emission budget takes).
    now = startMs + 62_000;
    const later = {
      type: 'bid',
      auction: 1,
      bidder: 1,
      price: 1,
      channel: 'Google',
      url: 'x',
      dateTime: startMs + 60_000,
    };
    const finalising = distinct.capped
      ? distinct
      : await timed([{ ...toBatchRecord(packedRecord(shardId, [later], now)), seq: `${records.at(-1)!.seq}1` }]);
    const capped = distinct.capped || finalising.capped;
    if (!capped) await client.send(new DeleteTableCommand({ TableName: table }));
    return {
      records: records.length,
      views: config.views.length,
      ms: Math.max(distinct.ms, finalising.ms),
      distinctMs: distinct.ms,
      finalisingMs: finalising.ms,
      capped,
    };
  } finally {
    client.destroy();
    await emulators.stop();
  }
}

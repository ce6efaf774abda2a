/**
 * Applies the batches the event source mapping gave up on, once their cause is fixed (`npm run redrive`).
 *
 * The shard processor skips records at or below its shard's stored sequence number, and the event source
 * mapping moved past a given-up batch, so later batches raised that number past it: its records cannot be
 * applied under their shard. Each given-up batch is applied instead under a shard of its own,
 * `redrive:<shardId>:<first sequence number>`, by the same ShardProcessor: that shard's progress item makes
 * the redrive exactly-once (a redrive that stops half-way, or runs twice, applies each record once).
 *
 * Such a shard never holds the pipeline watermark back (lambdas/core/watermark.ts). It starts idle, so its
 * first batch joins at the pipeline watermark of that moment: an event whose window is final by then is
 * late, counted and listed in GET /late, as any late event. The records are read back from the stream, so
 * a batch can be redriven only while the stream still holds it (24 hours by default).
 */
import type { KinesisClient, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { StreamRangeReader } from '../adapters/stream-range-reader.ts';
import type { PipelineConfig } from '../core/config.ts';
import { ConcurrentWriteError, newShardState, type StateStore, type StoredFailedBatch } from '../core/store.ts';
import { REDRIVE_SHARD_PREFIX } from '../core/watermark.ts';
import { toBatchRecord } from './kinesis-records.ts';
import { SHARD_PROCESSOR_STORE_CALLS, ShardProcessor } from './shard-processor.ts';

/** The state-store methods a redrive calls: the shard processor's, and the given-up batches'. */
export const REDRIVE_STORE_CALLS = [
  ...SHARD_PROCESSOR_STORE_CALLS,
  'listFailedBatches',
  'markFailedBatchRedriven',
] as const satisfies readonly (keyof StateStore)[];

type Store = Pick<StateStore, (typeof REDRIVE_STORE_CALLS)[number]>;

/** Records per ShardProcessor batch, as the event source mapping would deliver them. */
const RECORDS_PER_BATCH = 500;

export type RedriveOutcome =
  /** Applied now. */
  | 'redriven'
  /** The stream no longer holds all its records: nothing was applied, and it stays pending. */
  | 'not-in-stream';

export interface RedrivenBatch {
  readonly batch: StoredFailedBatch;
  readonly outcome: RedriveOutcome;
  /** The redrive shard's counters: what the batch's records came to. */
  readonly counters?: { readonly processed: number; readonly late: number; readonly deadLettered: number };
}

export function redriveShardId(batch: Pick<StoredFailedBatch, 'shardId' | 'startSequenceNumber'>): string {
  return `${REDRIVE_SHARD_PREFIX}${batch.shardId}:${batch.startSequenceNumber}`;
}

export class Redriver {
  private readonly processor: ShardProcessor;
  private readonly reader: StreamRangeReader;

  constructor(
    config: PipelineConfig,
    private readonly store: Store,
    kinesis: KinesisClient,
    private readonly now: () => number = Date.now,
  ) {
    // No open shards to register: a redrive applies old records, it does not stand for a shard of the stream.
    this.processor = new ShardProcessor(config, store, now);
    this.reader = new StreamRangeReader(kinesis);
  }

  /** Given-up batches of the event stream not redriven yet, oldest first. */
  async pending(): Promise<StoredFailedBatch[]> {
    const pending: StoredFailedBatch[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.store.listFailedBatches(1_000, cursor);
      pending.push(...page.batches.filter((b) => b.source === 'aggregate' && b.redrive === null));
      cursor = page.nextCursor;
    } while (cursor !== null);
    return pending.reverse();
  }

  /** Redrives every pending batch, oldest first; `onBatch` hears of each as it is done. */
  async redriveAll(onBatch: (result: RedrivenBatch) => void = () => undefined): Promise<RedrivenBatch[]> {
    const results: RedrivenBatch[] = [];
    for (const batch of await this.pending()) {
      const result = await this.redrive(batch);
      onBatch(result);
      results.push(result);
    }
    return results;
  }

  async redrive(batch: StoredFailedBatch): Promise<RedrivenBatch> {
    const records = await this.reader.read(
      batch.streamArn,
      batch.shardId,
      batch.startSequenceNumber,
      batch.endSequenceNumber,
    );
    const whole =
      records !== null &&
      records.length === batch.records &&
      records[0]!.SequenceNumber === batch.startSequenceNumber &&
      records[records.length - 1]!.SequenceNumber === batch.endSequenceNumber;
    if (!whole) return { batch, outcome: 'not-in-stream' };

    const shardId = redriveShardId(batch);
    await this.registerIdle(shardId);
    for (let i = 0; i < records.length; i += RECORDS_PER_BATCH) {
      const chunk = records.slice(i, i + RECORDS_PER_BATCH);
      await this.processor.process(
        shardId,
        chunk.map((r) => toBatchRecord(lambdaRecord(batch, r))),
      );
    }
    // The shard's counters, not this run's reports: a run that resumes an interrupted one skips what that
    // one applied, and the batch's totals are what the shard holds.
    const state = (await this.store.getShardStates()).find((s) => s.shardId === shardId);
    const counters = {
      processed: state?.counters.processed ?? 0,
      late: state?.counters.late ?? 0,
      deadLettered: state?.counters.deadLettered ?? 0,
    };
    await this.store.markFailedBatchRedriven(batch.key, { atMs: this.now(), shardId, ...counters });
    return { batch, outcome: 'redriven', counters };
  }

  /**
   * Creates the redrive shard as idle (no batch ever), unless it exists: its first batch then rejoins at the
   * pipeline watermark (ShardProcessor.startBatch), so events whose windows are already final are late
   * instead of changing a result that was reported final.
   */
  private async registerIdle(shardId: string): Promise<void> {
    if ((await this.store.getShardStates()).some((s) => s.shardId === shardId)) return;
    try {
      await this.store.putShardState(newShardState(shardId), null, false);
    } catch (err) {
      // Another redrive of the same batch created it a moment ago: the same shard, the same progress.
      if (!(err instanceof ConcurrentWriteError)) throw err;
    }
  }
}

/** A record read back from the stream, as the event source mapping would have delivered it. */
function lambdaRecord(batch: StoredFailedBatch, record: KinesisRecord): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey!,
      sequenceNumber: record.SequenceNumber!,
      data: Buffer.from(record.Data!).toString('base64'),
      approximateArrivalTimestamp: record.ApproximateArrivalTimestamp!.getTime() / 1_000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${batch.shardId}:${record.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: '',
    awsRegion: batch.streamArn.split(':')[3] ?? '',
    eventSourceARN: batch.streamArn,
  };
}

/**
 * Reads a range of one shard's records back from Kinesis, by sequence number: what an on-failure record
 * names (the event source mapping sends the range, never the records).
 */
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { Permission } from './permissions.ts';

/** The reader's calls. */
export const STREAM_RANGE_READER_PERMISSIONS: readonly Permission[] = [
  { resource: 'stream', actions: ['kinesis:GetShardIterator', 'kinesis:GetRecords'] },
];

/**
 * A range is one given-up batch, at most 10,000 records: one GetRecords call's worth. More calls are only
 * needed to step over empty stretches; this bounds them (a shard allows 5 reads a second, shared with the
 * event source mapping, which the SDK's retries ride out).
 */
const MAX_READS = 20;

export class StreamRangeReader {
  constructor(private readonly client: KinesisClient) {}

  /**
   * The records of `shardId` from sequence number `first` through `last`, oldest first; null when the stream
   * no longer holds `first` (past the stream's retention, or never in it). The caller checks the count: a
   * range read while the stream is trimming can come back short.
   */
  async read(streamArn: string, shardId: string, first: string, last: string): Promise<KinesisRecord[] | null> {
    let iterator: string | undefined;
    try {
      const out = await this.client.send(
        new GetShardIteratorCommand({
          StreamARN: streamArn,
          ShardId: shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: first,
        }),
      );
      iterator = out.ShardIterator;
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') return null;
      throw err;
    }
    const end = BigInt(last);
    const records: KinesisRecord[] = [];
    for (let reads = 0; iterator; reads++) {
      if (reads === MAX_READS) {
        throw new Error(`${shardId}: ${first}..${last} not read to its end after ${MAX_READS} GetRecords calls`);
      }
      const page: GetRecordsCommandOutput = await this.client.send(
        new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: 10_000 }),
      );
      const got = page.Records ?? [];
      for (const record of got) {
        if (BigInt(record.SequenceNumber!) > end) return records;
        records.push(record);
      }
      if (records.length > 0 && BigInt(records[records.length - 1]!.SequenceNumber!) === end) return records;
      // Nothing more, and at the tip of the shard: the rest of the range is not there.
      if (got.length === 0 && (page.MillisBehindLatest ?? 0) === 0) return records;
      iterator = page.NextShardIterator;
    }
    return records;
  }
}

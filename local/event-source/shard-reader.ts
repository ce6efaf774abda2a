/**
 * Reads one shard into a buffer and says when the buffer holds a batch due for delivery: `batchSize` records
 * (or ~6 MB of payload), or records whose batching window has passed since the first of them was read.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InvalidArgumentException,
  type KinesisClient,
  type _Record as KinesisRecord,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { takeBatch } from './lambda-payloads.ts';
import type { EventSourceSettings } from './settings.ts';

/** While a batching window is open, look for more records this often (Kinesis allows 5 reads/s per shard). */
const WINDOW_POLL_MS = 200;

export interface ShardReaderOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly shardId: string;
  readonly settings: Pick<EventSourceSettings, 'batchSize' | 'maxBatchingWindowSeconds' | 'startingPosition'>;
  /** The shard's checkpoint now: a fresh iterator starts after it until records have been read. */
  readonly checkpoint: () => string | undefined;
  readonly log: (line: string) => void;
}

export class ShardReader {
  /** From the last GetRecords: how far this reader is behind the tip of the shard. */
  millisBehindLatest = 0;
  private iterator?: string;
  /** Read from the stream, not yet delivered, oldest first. */
  private readonly buffer: KinesisRecord[] = [];
  /** When the first record now in the buffer was read: the batching window runs from here. */
  private bufferSince = 0;
  /** The stream returned no next iterator: the shard is closed and everything in it has been read. */
  private closed = false;
  private lastFetched?: string;

  constructor(private readonly options: ShardReaderOptions) {}

  /** Records read and not yet delivered. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** The shard is closed and every record in it has been read (not necessarily delivered). */
  get readToEnd(): boolean {
    return this.closed;
  }

  /** A batch should be delivered now: the buffer is full, its window has passed, or nothing more will come. */
  get batchDue(): boolean {
    const windowOver = Date.now() - this.bufferSince >= this.windowMs;
    return this.buffer.length > 0 && (this.full || windowOver || this.closed);
  }

  /** How long to wait before reading again while the batching window of the buffered records is open. */
  get windowPollMs(): number {
    return Math.min(WINDOW_POLL_MS, this.windowMs - (Date.now() - this.bufferSince));
  }

  /**
   * Reads once from the shard into the buffer, unless the buffer holds a full batch or the shard was read to
   * its end; returns how many records it read.
   */
  async read(): Promise<number> {
    if (this.closed || this.full) return 0;
    this.iterator ??= await this.newIterator();
    const page = await this.options.kinesis.send(
      new GetRecordsCommand({
        ShardIterator: this.iterator,
        Limit: this.options.settings.batchSize - this.buffer.length,
      }),
    );
    const records = page.Records ?? [];
    if (records.length > 0) {
      if (this.buffer.length === 0) this.bufferSince = Date.now();
      this.buffer.push(...records);
      this.lastFetched = records.at(-1)!.SequenceNumber;
    }
    this.millisBehindLatest = page.MillisBehindLatest ?? 0;
    this.iterator = page.NextShardIterator;
    if (!page.NextShardIterator) this.closed = true;
    return records.length;
  }

  /** The batch at the front of the buffer; it stays there until consume(). */
  nextBatch(): KinesisRecord[] {
    return takeBatch(this.buffer, this.options.settings.batchSize);
  }

  /** Drops the first `count` records, delivered, from the buffer; the batching window starts again. */
  consume(count: number): void {
    this.buffer.splice(0, count);
    this.bufferSince = Date.now();
  }

  /**
   * Whether `err`, thrown by read(), is one the reader recovers from by itself: an iterator that expired
   * (they last 5 minutes, and retries can take longer) is replaced on the next read.
   */
  recover(err: unknown): boolean {
    if (!(err instanceof ExpiredIteratorException)) return false;
    this.iterator = undefined;
    return true;
  }

  private get full(): boolean {
    return this.buffer.length >= this.options.settings.batchSize;
  }

  private get windowMs(): number {
    return this.options.settings.maxBatchingWindowSeconds * 1_000;
  }

  private async newIterator(): Promise<string> {
    const { kinesis, streamName, shardId, settings } = this.options;
    const fromStart = () =>
      kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: settings.startingPosition,
        }),
      );
    // After the last record read (its iterator expired during retries), else after the checkpoint.
    const after = this.lastFetched ?? this.options.checkpoint();
    if (after === undefined) return (await fromStart()).ShardIterator!;
    try {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          StartingSequenceNumber: after,
        }),
      );
      return ShardIterator!;
    } catch (err) {
      const unknownSequence = err instanceof ResourceNotFoundException || err instanceof InvalidArgumentException;
      if (!unknownSequence || this.lastFetched !== undefined) throw err;
      // kinesis-local persists its data every few seconds, so a saved checkpoint can be newer than the data.
      this.options.log(`[event-source] ${shardId}: checkpoint ${after} is not in the stream; reading from the start`);
      return (await fromStart()).ShardIterator!;
    }
  }
}

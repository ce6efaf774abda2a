/**
 * Reads one shard into a buffer and says when the buffer holds a batch due for delivery: `batchSize` records
 * (or ~6 MB of payload), or records whose batching window has passed since the first of them was read.
 * While a batch is being delivered it stays at the front of the buffer, and reading goes on behind it for the
 * next batch, whose window starts when its first record is read.
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

/**
 * While a batching window is open, or a batch is in flight, look for more records this often (Kinesis allows
 * 5 reads/s per shard).
 */
export const WINDOW_POLL_MS = 200;

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
  /** When each record in the buffer was read, in the same order. */
  private readonly readAt: number[] = [];
  /** The first records of the buffer, handed out by nextBatch() and being delivered: not part of the next batch. */
  private inFlight = 0;
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
    return this.waiting > 0 && (this.full || windowOver || this.closed);
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
        Limit: this.options.settings.batchSize - this.waiting,
      }),
    );
    const records = page.Records ?? [];
    if (records.length > 0) {
      const now = Date.now();
      this.buffer.push(...records);
      for (let i = 0; i < records.length; i++) this.readAt.push(now);
      this.lastFetched = records.at(-1)!.SequenceNumber;
    }
    this.millisBehindLatest = page.MillisBehindLatest ?? 0;
    this.iterator = page.NextShardIterator;
    if (!page.NextShardIterator) this.closed = true;
    return records.length;
  }

  /** The batch at the front of the buffer; it stays there, in flight, until consume() or release(). */
  nextBatch(): KinesisRecord[] {
    const batch = takeBatch(this.buffer, this.options.settings.batchSize);
    this.inFlight = batch.length;
    return batch;
  }

  /** Drops the first `count` records, delivered, from the buffer; the next batch's window runs from its first read. */
  consume(count: number): void {
    this.buffer.splice(0, count);
    this.readAt.splice(0, count);
    this.inFlight = 0;
  }

  /** The batch in flight was not delivered (stop() cut its retries short): it stays in the buffer. */
  release(): void {
    this.inFlight = 0;
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

  /** Records read behind the batch in flight (all of the buffer when none is in flight). */
  private get waiting(): number {
    return this.buffer.length - this.inFlight;
  }

  /** When the first record waiting was read: its batching window runs from here. */
  private get bufferSince(): number {
    return this.readAt[this.inFlight] ?? Date.now();
  }

  private get full(): boolean {
    return this.waiting >= this.options.settings.batchSize;
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

/**
 * Makes the local stream durable with `--data-dir`. kinesis-local writes its data to disk every few seconds,
 * not on each write, and its record numbers carry the time they were written: after a kill -9 of the whole
 * process tree (a crash, an OOM kill) the records it took since its last snapshot are gone although ingest
 * answered 202 for them, and putting them back would give them other sequence numbers than the aggregator's
 * state and the idempotency claims know them by.
 *
 * So the runtime keeps the stream itself, as a write-ahead journal: every record a handler puts (PutRecords)
 * is appended here with the shard and sequence number Kinesis gave it, and flushed to disk before the handler
 * sees the response, so before any 2xx. kinesis-local runs in memory. At each start the runtime creates the
 * stream afresh and replays the journal into it, each record onto its own shard, in sequence order; the event
 * source mapping then delivers each replayed record under the sequence number and arrival time it was first
 * written with (`restored`), as Kinesis would have kept them. The aggregator skips what it already applied by
 * sequence number, and applies the rest exactly once.
 *
 * Entries older than the stream's retention (24 h) are dropped at each start: Kinesis no longer holds them.
 * (Arrival times come from the moment Kinesis answered the put, a few milliseconds after its own timestamp.)
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import {
  type KinesisClient,
  PutRecordCommand,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { type ClientPlugin, clientPlugins } from '../lambdas/adapters/aws-clients.ts';
import { listShards } from '../lambdas/adapters/shard-directory.ts';
import type { RestoredRecord } from './event-source/kinesis-event-source.ts';

/** Kinesis keeps records 24 hours by default; the local stream is created with the default. */
const RETENTION_MS = 24 * 3_600_000;

interface JournalEntry {
  readonly shardId: string;
  readonly seq: string;
  readonly partitionKey: string;
  /** base64 */
  readonly data: string;
  readonly at: number;
}

export class StreamJournal {
  private fd: number;

  private constructor(
    readonly file: string,
    private readonly streamName: string,
  ) {
    this.fd = openSync(file, 'a');
  }

  /** Opens (creates) the journal of `streamName` in `file`, keeping only entries within retention. */
  static open(file: string, streamName: string): StreamJournal {
    if (existsSync(file)) {
      const cutoff = Date.now() - RETENTION_MS;
      const kept = readEntries(file).filter((e) => e.at >= cutoff);
      // Rewritten whole, then renamed over the old one: a crash meanwhile leaves one complete journal.
      writeFileSync(`${file}.tmp`, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
      renameSync(`${file}.tmp`, file);
    }
    return new StreamJournal(file, streamName);
  }

  /** Appends the records Kinesis confirmed, and flushes them to disk before returning. */
  append(entries: readonly PutRecordsRequestEntry[], output: PutRecordsCommandOutput): void {
    const at = Date.now();
    let text = '';
    (output.Records ?? []).forEach((result, i) => {
      const entry = entries[i];
      if (!entry || !result.SequenceNumber || !result.ShardId || result.ErrorCode) return;
      const line: JournalEntry = {
        shardId: result.ShardId,
        seq: result.SequenceNumber,
        partitionKey: entry.PartitionKey!,
        data: Buffer.from(entry.Data!).toString('base64'),
        at,
      };
      text += `${JSON.stringify(line)}\n`;
    });
    if (text === '') return;
    writeSync(this.fd, text);
    fsyncSync(this.fd);
  }

  /**
   * Replays the journal into a stream just created (empty), each record onto the shard it was on, in sequence
   * order. Returns each replayed record's original identity by `shardId:sequenceNumber` as the stream numbers
   * it now. Call before anything else writes to the stream.
   */
  async restore(kinesis: KinesisClient): Promise<Map<string, RestoredRecord>> {
    const restored = new Map<string, RestoredRecord>();
    const entries = readEntries(this.file);
    if (entries.length === 0) return restored;
    const shards = new Map<string, string>();
    for (const shard of await listShards(kinesis, { StreamName: this.streamName })) {
      shards.set(shard.ShardId!, shard.HashKeyRange!.StartingHashKey!);
    }
    const byShard = new Map<string, JournalEntry[]>();
    for (const e of entries) byShard.set(e.shardId, [...(byShard.get(e.shardId) ?? []), e]);
    for (const [shardId, shardEntries] of byShard) {
      const hashKey = shards.get(shardId);
      if (hashKey === undefined) {
        throw new Error(
          `cannot restore the stream from ${this.file}: it holds records of ${shardId}, which the stream no longer ` +
            `has (its shards: ${[...shards.keys()].join(', ')}). Start with the same --shards as before.`,
        );
      }
      // Concurrent puts may have been journaled out of order: replay in sequence-number order.
      shardEntries.sort((a, b) => compareSequence(a.seq, b.seq));
      let previous: string | undefined;
      for (const entry of shardEntries) {
        const out = await kinesis.send(
          new PutRecordCommand({
            StreamName: this.streamName,
            PartitionKey: entry.partitionKey,
            ExplicitHashKey: hashKey,
            Data: Buffer.from(entry.data, 'base64'),
            ...(previous ? { SequenceNumberForOrdering: previous } : {}),
          }),
        );
        previous = out.SequenceNumber!;
        restored.set(`${out.ShardId}:${out.SequenceNumber}`, { seq: entry.seq, arrivalMs: entry.at });
      }
    }
    return restored;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Sequence numbers are decimal strings of varying length. */
function compareSequence(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function readEntries(file: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line cut short by a crash while it was written: its PutRecords was never answered.
    }
  }
  return entries;
}

let current: StreamJournal | undefined;

/**
 * Journals every PutRecords a handler makes from now on into `journal` (undefined: none, for a pipeline
 * without --data-dir). Installed like the AWS twin: once, before the handlers create their clients.
 */
export function installStreamJournal(journal: StreamJournal | undefined): void {
  current = journal;
  if (!clientPlugins.includes(plugin)) clientPlugins.push(plugin);
}

const plugin: ClientPlugin = {
  applyToStack(stack) {
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const journal = current;
        if (journal && context.commandName === 'PutRecordsCommand') {
          const input = args.input as { Records?: PutRecordsRequestEntry[] };
          journal.append(input.Records ?? [], result.output as PutRecordsCommandOutput);
        }
        return result;
      },
      { step: 'initialize', name: 'eddyStreamJournal', override: true },
    );
  },
};

/**
 * Test support: a real kinesis-local emulator, fresh streams for each test, and a recording stand-in for the
 * aggregate function.
 */
import { randomUUID } from 'node:crypto';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { localKinesisClient } from '../../local/aws-clients.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { ensureStream, type LocalStream } from '../../local/resources.ts';

export interface StreamEmulator {
  readonly emulators: Emulators;
  readonly kinesis: KinesisClient;
  /** A new stream with its own name, so tests never see each other's records. */
  newStream(shards?: number): Promise<LocalStream>;
  stop(): Promise<void>;
}

export async function startStreamEmulator(): Promise<StreamEmulator> {
  const emulators = await startEmulators();
  const kinesis = localKinesisClient(emulators.kinesisEndpoint);
  return {
    emulators,
    kinesis,
    newStream: (shards = 1) => ensureStream(kinesis, `test-${randomUUID().slice(0, 8)}`, shards),
    async stop() {
      kinesis.destroy();
      await emulators.stop();
    },
  };
}

export interface PutResult {
  readonly data: string;
  readonly partitionKey: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** Puts text records in one PutRecords call; fails the test if Kinesis refused any of them. */
export async function putTexts(
  kinesis: KinesisClient,
  streamName: string,
  texts: readonly string[],
  partitionKey: (i: number) => string = (i) => `key-${i}`,
): Promise<PutResult[]> {
  const out = await kinesis.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: texts.map((text, i) => ({ Data: Buffer.from(text), PartitionKey: partitionKey(i) })),
    }),
  );
  if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records were not put`);
  return out.Records!.map((r, i) => ({
    data: texts[i]!,
    partitionKey: partitionKey(i),
    shardId: r.ShardId!,
    sequenceNumber: r.SequenceNumber!,
  }));
}

export interface RecordedInvocation {
  readonly at: number;
  readonly event: KinesisStreamEvent;
  /** Each record's data, base64-decoded. */
  readonly texts: readonly string[];
  readonly failed: boolean;
}

/**
 * A stand-in aggregate function that records every invocation. `behaviour` decides each invocation's
 * outcome: throw to fail it, return a partial batch response, or return nothing for success.
 */
export function recordingHandler(
  behaviour: (texts: readonly string[], event: KinesisStreamEvent) => KinesisStreamBatchResponse | undefined = () =>
    undefined,
) {
  const invocations: RecordedInvocation[] = [];
  const handler = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse | undefined> => {
    const texts = event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
    try {
      const result = behaviour(texts, event);
      invocations.push({ at: Date.now(), event, texts, failed: false });
      return result;
    } catch (err) {
      invocations.push({ at: Date.now(), event, texts, failed: true });
      throw err;
    }
  };
  return {
    handler,
    invocations,
    /** Texts of the records in invocations that succeeded, in delivery order. */
    delivered: () => invocations.filter((i) => !i.failed).flatMap((i) => i.texts),
  };
}

export const quiet = (): void => {};
